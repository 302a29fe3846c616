import { createActor, fromCallback, fromPromise, SimulatedClock, type EventObject } from 'xstate';
import { clusterMachine, type ClusterEvent } from '../../machines/cluster.machine.js';

/** machines/cluster.machine.ts on a simulated clock: the census is published while Redis is up, on its period. */

function cluster() {
  const clock = new SimulatedClock();
  const publications: Array<{ done: (elsewhere?: Record<string, string>) => void; fail: () => void; signal: AbortSignal }> = [];
  let report: ((event: ClusterEvent) => void) | undefined;
  let linkStopped = false;
  const machine = clusterMachine.provide({
    actors: {
      redisConnection: fromCallback<EventObject>(({ sendBack }) => {
        report = sendBack;
        return () => void (linkStopped = true);
      }),
      publishCensus: fromPromise<Record<string, string>, { instanceId: string }>(
        ({ signal }) => new Promise((done, fail) => publications.push({ done: (elsewhere = {}) => done(elsewhere), fail: () => fail(new Error('write failed')), signal })),
      ),
    },
  });
  const actor = createActor(machine, { clock, input: { instanceId: 'a', publishEveryMs: 1000, proxyLeaseMs: null, publishDeadlineMs: 200 } }).start();
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { actor, clock, publications, report: (e: ClusterEvent) => report!(e), settle, linkStopped: () => linkStopped };
}

describe('cluster machine (the Redis link and this instance\'s census)', () => {
  test('what the other instances\' census said is kept until the next publication, and forgotten while Redis is away', async () => {
    const c = cluster();
    c.report({ type: 'redis.up' });
    c.publications[0]!.done({ 'client-x': 'b' });
    await c.settle();
    expect(c.actor.getSnapshot().context.elsewhere).toEqual({ 'client-x': 'b' });
    c.report({ type: 'redis.down', message: 'gone' });
    expect(c.actor.getSnapshot().context.elsewhere).toEqual({});
  });

  test('nothing is published until Redis is up; then at once and every period', async () => {
    const c = cluster();
    expect(c.actor.getSnapshot().value).toBe('down');
    c.clock.increment(5000);
    expect(c.publications).toHaveLength(0);
    c.report({ type: 'redis.up' });
    expect(c.publications).toHaveLength(1);
    c.publications[0]!.done();
    await c.settle();
    expect(c.actor.getSnapshot().context.published).toBe(1);
    c.clock.increment(999);
    expect(c.publications).toHaveLength(1);
    c.clock.increment(1);
    expect(c.publications).toHaveLength(2);
  });

  test('a publication that hangs is given up at its deadline; one that fails waits for the next period', async () => {
    const c = cluster();
    c.report({ type: 'redis.up' });
    c.clock.increment(200);
    expect(c.publications[0]!.signal.aborted).toBe(true);
    c.clock.increment(1000);
    expect(c.publications).toHaveLength(2);
    c.publications[1]!.fail();
    await c.settle();
    expect(c.actor.getSnapshot().value).toEqual({ up: 'waiting' });
  });

  test('Redis going down stops publishing and says why; coming back starts again; stopping ends the link', () => {
    const c = cluster();
    c.report({ type: 'redis.up' });
    c.report({ type: 'redis.down', message: 'connect ECONNREFUSED' });
    expect(c.publications[0]!.signal.aborted).toBe(true);
    expect(c.actor.getSnapshot().context.lastError).toBe('connect ECONNREFUSED');
    c.clock.increment(10_000);
    expect(c.publications).toHaveLength(1);
    c.report({ type: 'redis.up' });
    expect(c.publications).toHaveLength(2);
    expect(c.actor.getSnapshot().context.lastError).toBeNull();
    c.actor.stop();
    expect(c.linkStopped()).toBe(true);
  });
});
