import { emptyIdPool, idSuffix, releaseId, takeId } from '../../machines/id-pool.js';

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
