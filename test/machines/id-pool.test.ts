import { createActor, enqueueActions, fromCallback, setup } from 'xstate';
import { emptyIdPool, idSuffix, releaseChild, releaseId, takeId, type IdPool } from '../../machines/id-pool.js';

test('ids are reused smallest-first, so the set of child ids stays as small as the peak', () => {
  let pool = emptyIdPool();
  const taken: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [id, next] = takeId(pool);
    taken.push(id);
    pool = next;
  }
  expect(taken).toEqual([0, 1, 2]);
  pool = releaseId(releaseId(pool, 2), 0);
  expect(takeId(pool)[0]).toBe(0);
  pool = takeId(pool)[1];
  expect(takeId(pool)[0]).toBe(2);
  expect(releaseId(pool, 7)).toBe(pool); // never handed out: ignored
  expect(releaseId(releaseId(pool, 1), 1).free.filter((id) => id === 1)).toHaveLength(1); // a double release is one
  expect(idSuffix('session.12')).toBe(12);
});

test('releaseChild stops the child and frees its id: the next child takes the same id', () => {
  const machine = setup({
    types: { context: {} as { pool: IdPool }, events: {} as { type: 'start' } | { type: 'release'; id: string } },
    actors: { worker: fromCallback(() => () => undefined) },
  }).createMachine({
    context: { pool: emptyIdPool() },
    on: {
      start: {
        actions: enqueueActions(({ context, enqueue }) => {
          const [n, pool] = takeId(context.pool);
          enqueue.spawnChild('worker', { id: `worker.${n}` });
          enqueue.assign({ pool });
        }),
      },
      release: { actions: enqueueActions(({ context, event, enqueue }) => enqueue.assign({ pool: releaseChild(enqueue, context.pool, event.id) })) },
    },
  });
  const actor = createActor(machine).start();
  actor.send({ type: 'start' });
  actor.send({ type: 'start' });
  actor.send({ type: 'release', id: 'worker.0' });
  expect(Object.keys(actor.getSnapshot().children)).toEqual(['worker.1']);
  actor.send({ type: 'start' });
  expect(Object.keys(actor.getSnapshot().children).sort()).toEqual(['worker.0', 'worker.1']);
});
