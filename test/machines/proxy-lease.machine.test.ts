import { createActor, fromCallback, fromPromise, setup, SimulatedClock, type AnyActorRef } from 'xstate';
import { PROXY_HUB_SYSTEM_ID } from '../../machines/live-chat-contract.js';
import { PROXY_LEASE_SYSTEM_ID, proxyLeaseMachine, type AcquireInput, type ProxyLeaseEvent, type ProxyOwnerEvent } from '../../machines/proxy-lease.machine.js';

/**
 * machines/proxy-lease.machine.ts alone, on a SimulatedClock: a fake Redis that keeps the lease with its expiry in
 * simulated time (and can stop answering), and a fake hub that records who it is told owns the shared session.
 */

const TTL = 1000;

function run(me = 'a') {
  const clock = new SimulatedClock();
  const redis = { holder: null as string | null, expires: 0, answering: true, acquires: [] as Array<{ at: number; take: boolean }>, renewals: [] as Array<{ at: number; ok: boolean }> };
  const held = () => (redis.holder !== null && clock.now() < redis.expires ? redis.holder : null);
  const told: Array<{ at: number; owner: string | null }> = [];
  const lease = proxyLeaseMachine.provide({
    actors: {
      acquire: fromPromise<string | null, AcquireInput>(async ({ input }) => {
        redis.acquires.push({ at: clock.now(), take: input.take });
        if (!redis.answering) throw new Error('Redis is not answering');
        if (held() === null && input.take) Object.assign(redis, { holder: input.instanceId, expires: clock.now() + input.ttlMs });
        return held();
      }),
      renew: fromPromise<boolean, { instanceId: string; ttlMs: number }>(async ({ input }) => {
        const at = clock.now();
        if (!redis.answering) throw new Error('Redis is not answering');
        const holder = held();
        const ok = holder === input.instanceId || holder === null;
        if (ok) Object.assign(redis, { holder: input.instanceId, expires: at + input.ttlMs });
        redis.renewals.push({ at, ok });
        return ok;
      }),
    },
  });
  const hub = fromCallback<ProxyOwnerEvent>(({ receive }) => receive((e) => told.push({ at: clock.now(), owner: e.owner })));
  const parent = setup({ actors: { lease, hub } }).createMachine({
    invoke: [
      { src: 'hub', systemId: PROXY_HUB_SYSTEM_ID },
      { id: 'lease', src: 'lease', systemId: PROXY_LEASE_SYSTEM_ID, input: { instanceId: me, ttlMs: TTL } },
    ],
  });
  const actor = createActor(parent, { clock }).start();
  const leaseRef = actor.system.get(PROXY_LEASE_SYSTEM_ID) as AnyActorRef;
  const send = (e: ProxyLeaseEvent) => leaseRef.send(e);
  const flush = async () => {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  };
  /** Moves simulated time on in small steps, letting the fake Redis answer between them. */
  const advance = async (ms: number, step = 10) => {
    for (let t = 0; t < ms; t += step) {
      clock.increment(step);
      await flush();
    }
  };
  const state = () => JSON.stringify(leaseRef.getSnapshot().value);
  return { clock, redis, told, send, advance, flush, state, actor };
}

/** An instance that took the lease, then Redis goes down and loses it (a restart without persistence). */
async function ownerWhoseRedisRestarts() {
  const t = run();
  t.send({ type: 'redis.up' });
  await t.advance(TTL + 50);
  t.send({ type: 'redis.down', message: 'restart' });
  t.redis.answering = false;
  Object.assign(t.redis, { holder: null });
  return t;
}

describe('the /proxy-ws lease', () => {
  test('a new link only looks for a ttl, then takes a free lease and tells the hub', async () => {
    const t = run();
    t.send({ type: 'redis.up' });
    await t.advance(TTL - 20);
    expect(t.redis.acquires.length).toBeGreaterThan(0);
    expect(t.redis.acquires.every((a) => !a.take)).toBe(true);
    expect(t.redis.holder).toBeNull();
    await t.advance(100);
    expect(t.redis.holder).toBe('a');
    expect(t.told.at(-1)?.owner).toBe('a');
    expect(t.state()).toContain('owning');
  });

  test('while another instance holds it, the hub hears who; Redis gone, it hears nobody', async () => {
    const t = run();
    Object.assign(t.redis, { holder: 'b', expires: 1e9 });
    t.send({ type: 'redis.up' });
    await t.advance(50);
    expect(t.told.at(-1)?.owner).toBe('b');
    await t.advance(2 * TTL);
    expect(t.redis.holder).toBe('b');
    // Redis gone: the owner stays known for a ttl (a restart does not unlink anybody), then nobody is.
    t.send({ type: 'redis.down', message: 'gone' });
    await t.advance(TTL - 20);
    expect(t.told.at(-1)?.owner).toBe('b');
    await t.advance(40);
    expect(t.told.at(-1)?.owner).toBeNull();
    t.send({ type: 'lease.tell' } as ProxyLeaseEvent);
    await t.flush();
    expect(t.told.at(-1)?.owner).toBeNull();
  });

  test('an owner whose renewals stop coming back steps down before Redis would let the lease go', async () => {
    const t = run();
    t.send({ type: 'redis.up' });
    await t.advance(TTL + 50);
    expect(t.told.at(-1)?.owner).toBe('a');
    await t.advance(TTL);
    const lastRenewal = t.redis.renewals.filter((r) => r.ok).at(-1)!;
    expect(lastRenewal).toBeDefined();
    // A partition: nothing reaches Redis any more.
    t.redis.answering = false;
    await t.advance(TTL);
    const stepDown = t.told.find((x) => x.owner === null && x.at > lastRenewal.at)!;
    expect(stepDown).toBeDefined();
    expect(stepDown.at - lastRenewal.at).toBeLessThanOrEqual(0.75 * TTL);
    // The lease it held in Redis was still valid then: nobody else could have taken it yet.
    expect(stepDown.at).toBeLessThan(t.redis.expires);
  });

  test('a renewal that finds another holder steps down at once', async () => {
    const t = run();
    t.send({ type: 'redis.up' });
    await t.advance(TTL + 50);
    Object.assign(t.redis, { holder: 'b', expires: 1e9 });
    const changed = t.clock.now();
    await t.advance(TTL / 4 + 20);
    // Stepped down at the first renewal after the change, then heard who holds it.
    expect(t.told.filter((x) => x.at > changed).map((x) => x.owner)).toEqual([null, 'b']);
  });

  test('an owner whose link comes back before it steps down keeps the lease, even one Redis lost', async () => {
    const t = await ownerWhoseRedisRestarts();
    await t.advance(100);
    t.redis.answering = true;
    t.send({ type: 'redis.up' });
    await t.advance(TTL);
    expect(t.told.filter((x) => x.owner === null)).toHaveLength(0);
    expect(t.redis.holder).toBe('a');
  });

  test('an owner that stepped down after its link cycled waits a whole ttl before taking the lease again', async () => {
    const t = await ownerWhoseRedisRestarts();
    await t.advance(TTL);
    expect(t.told.at(-1)?.owner).toBeNull();
    t.redis.answering = true;
    t.send({ type: 'redis.up' });
    const back = t.clock.now();
    await t.advance(TTL + 100);
    const retaken = t.told.find((x) => x.owner === 'a' && x.at > back)!;
    expect(retaken.at - back).toBeGreaterThanOrEqual(TTL);
  });
});
