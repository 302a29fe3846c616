/**
 * Reusable numeric ids for spawned children.
 *
 * XState memoises the transition candidates of every state node per event type, for the life of the machine
 * definition. A child's completion arrives as `xstate.done.actor.<child id>`, so children spawned with ever-new ids
 * (a uuid per session, a counter per request) leave one memo entry per child behind: measured at about 0.6 KB per
 * session (bench:cycles). Reusing the smallest free number keeps the set of event types — and the memo — bounded
 * by the peak number of children alive at once.
 */
export interface IdPool {
  free: number[];
  next: number;
}

export const emptyIdPool = (): IdPool => ({ free: [], next: 0 });

/** The smallest free id, and the pool without it. */
export function takeId(pool: IdPool): [number, IdPool] {
  if (pool.free.length > 0) {
    const smallest = Math.min(...pool.free);
    return [smallest, { free: pool.free.filter((id) => id !== smallest), next: pool.next }];
  }
  return [pool.next, { free: pool.free, next: pool.next + 1 }];
}

export function releaseId(pool: IdPool, id: number): IdPool {
  return pool.free.includes(id) || id >= pool.next ? pool : { free: [...pool.free, id], next: pool.next };
}

/** The numeric suffix of a child id such as `session.3`. */
export function idSuffix(actorId: string): number {
  return Number(actorId.slice(actorId.lastIndexOf('.') + 1));
}

/**
 * Stops a child whose id was taken from `pool` (`<prefix>.<n>`) and returns the pool with that id free again: the one
 * way a machine lets go of a numbered child, so no child is stopped without its id coming back (or the reverse).
 */
export function releaseChild(enqueue: { stopChild(actorId: string): void }, pool: IdPool, actorId: string): IdPool {
  enqueue.stopChild(actorId);
  return releaseId(pool, idSuffix(actorId));
}
