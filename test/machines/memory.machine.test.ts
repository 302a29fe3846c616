import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import { memoryMachine, type MemoryEvent, type MemoryInput, type MemoryJob } from '../../machines/memory.machine.js';

/** machines/memory.machine.ts on a simulated clock; each job waits until the test finishes it. */

function memory(input: Partial<MemoryInput> = {}) {
  const clock = new SimulatedClock();
  const jobs: Array<{ job: MemoryJob; signal: AbortSignal; done: () => void; fail: (e: unknown) => void }> = [];
  const embeddingModel = { started: 0, stopped: 0 };
  const machine = memoryMachine.provide({
    actors: {
      runJob: fromPromise<void, MemoryJob>(({ input: job, signal }) => new Promise((done, fail) => jobs.push({ job, signal, done: () => done(), fail }))),
      embeddingModel: fromCallback(() => {
        embeddingModel.started++;
        return () => void embeddingModel.stopped++;
      }),
    },
  });
  const actor = createActor(machine, { input: { maxQueued: 4, jobDeadlineMs: 1000, characters: [], ...input }, clock }).start();
  const send = (event: MemoryEvent) => actor.send(event);
  const changed = (historyUid: string, deleted = false, by?: string) => send({ type: 'memory.changed', confUid: 'mao', historyUid, deleted, ...(by ? { by } : {}) });
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  const started = () => jobs.map(({ job }) => ('historyUid' in job ? `${job.kind} ${job.historyUid}` : `${job.kind} ${job.confUid}`));
  return { actor, clock, jobs, changed, send, settle, started, embeddingModel };
}

describe('memory machine (indexing jobs, one at a time, bounded)', () => {
  test('every character given is reconciled at start, one after the other', async () => {
    const m = memory({ characters: ['mao', 'shizuku'] });
    expect(m.started()).toEqual(['reconcile mao']);
    m.jobs[0]!.done();
    await m.settle();
    expect(m.started()).toEqual(['reconcile mao', 'reconcile shizuku']);
  });

  test('a written history is synced, a deleted one forgotten, in the order they came', async () => {
    const m = memory();
    m.changed('h1');
    m.changed('h2', true);
    expect(m.started()).toEqual(['sync h1']);
    m.jobs[0]!.done();
    await m.settle();
    expect(m.started()).toEqual(['sync h1', 'forget h2']);
    m.jobs[1]!.fail(new Error('disk'));
    await m.settle();
    expect(m.actor.getSnapshot().value).toBe('idle');
  });

  test('with extract on, a written history is learned from once it is indexed', async () => {
    const m = memory({ extract: true });
    m.changed('h1');
    m.changed('h2', true);
    m.jobs[0]!.done();
    await m.settle();
    m.jobs[1]!.done();
    await m.settle();
    expect(m.started()).toEqual(['sync h1', 'extract h1', 'forget h2']);
  });

  test('with embeddings on, a character\'s new messages are embedded after each sync and each reconcile, one job waiting per character', async () => {
    const m = memory({ embed: true, characters: ['mao'] });
    m.changed('h1');
    m.changed('h2');
    expect(m.actor.getSnapshot().context.queue.map((j) => ('historyUid' in j ? `${j.kind} ${j.historyUid}` : j.kind))).toEqual(['reconcile', 'embed', 'sync h1', 'sync h2']);
  });

  test('a job already waiting is not queued twice; the running one may be queued again', async () => {
    const m = memory();
    m.changed('h1');
    m.changed('h1');
    m.changed('h1');
    expect(m.actor.getSnapshot().context.queue).toHaveLength(2);
  });

  test('past its bound, a job is dropped and one reconcile of its character takes its place', () => {
    const m = memory({ maxQueued: 2 });
    for (const uid of ['h1', 'h2', 'h3', 'h4']) m.changed(uid);
    const { queue, dropped } = m.actor.getSnapshot().context;
    expect(queue.map((j) => ('historyUid' in j ? j.historyUid : j.kind))).toEqual(['h1', 'h2', 'reconcile']);
    expect(dropped).toBe(2);
  });

  test('a job that overruns its deadline is abandoned (its signal aborted) and the next one starts', async () => {
    const m = memory();
    m.changed('h1');
    m.changed('h2');
    m.clock.increment(999);
    expect(m.jobs[0]!.signal.aborted).toBe(false);
    m.clock.increment(1);
    expect(m.jobs[0]!.signal.aborted).toBe(true);
    expect(m.started()).toEqual(['sync h1', 'sync h2']);
  });

  test('with a local embedding model, its process actor lives as long as memory does; without one there is none', () => {
    const local = memory({ embed: true, localEmbedding: true });
    expect(local.embeddingModel).toEqual({ started: 1, stopped: 0 });
    expect(Object.keys(local.actor.getSnapshot().children)).toContain('embeddingModel');
    local.actor.stop();
    expect(local.embeddingModel).toEqual({ started: 1, stopped: 1 });
    expect(memory({ embed: true }).embeddingModel.started).toBe(0);
  });

  test('stopping it stops the running job', () => {
    const m = memory();
    m.changed('h1');
    m.actor.stop();
    expect(m.jobs[0]!.signal.aborted).toBe(true);
  });

  describe('a session that switches character or disconnects takes its work along', () => {
    const waiting = (m: ReturnType<typeof memory>) => m.actor.getSnapshot().context.queue.map((j) => `${j.kind}${'historyUid' in j ? ` ${j.historyUid}` : ''}${'for' in j ? ` for ${j.for === null ? 'the server' : j.for.join('+') || 'nobody'}` : ''}`);

    test('its waiting extractions and embeddings go; indexing what it wrote stays', () => {
      const m = memory({ extract: true, embed: true, maxQueued: 8 });
      m.changed('h1', false, 'alice');
      m.changed('h2', false, 'bob');
      expect(waiting(m)).toEqual(['sync h1', 'extract h1 for alice', 'embed for alice+bob', 'sync h2', 'extract h2 for bob']);
      m.send({ type: 'memory.sessionLeft', clientUid: 'alice' });
      expect(waiting(m)).toEqual(['sync h1', 'embed for bob', 'sync h2', 'extract h2 for bob']);
      m.send({ type: 'memory.sessionLeft', clientUid: 'bob' });
      expect(waiting(m)).toEqual(['sync h1', 'sync h2']);
      expect(m.jobs[0]!.signal.aborted).toBe(false);
    });

    test('the running job, when it was done for that session alone, is stopped and the next one starts', async () => {
      const m = memory({ extract: true });
      m.changed('h1', false, 'alice');
      m.changed('h2', false, 'bob');
      m.jobs[0]!.done();
      await m.settle();
      expect(m.started()).toEqual(['sync h1', 'extract h1']);
      m.send({ type: 'memory.sessionLeft', clientUid: 'bob' });
      expect(m.jobs[1]!.signal.aborted).toBe(false);
      m.send({ type: 'memory.sessionLeft', clientUid: 'alice' });
      expect(m.jobs[1]!.signal.aborted).toBe(true);
      expect(m.started()).toEqual(['sync h1', 'extract h1', 'sync h2']);
    });

    test('work asked for by two sessions runs for the one that stays; the server\'s own work runs whoever leaves', () => {
      const m = memory({ embed: true, characters: ['mao'] });
      m.changed('h1', false, 'alice');
      expect(waiting(m)).toEqual(['reconcile', 'embed for the server', 'sync h1']);
      m.send({ type: 'memory.sessionLeft', clientUid: 'alice' });
      expect(waiting(m)).toEqual(['reconcile', 'embed for the server', 'sync h1']);
    });
  });
});
