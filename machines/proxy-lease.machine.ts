import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { PROXY_HUB_SYSTEM_ID } from './live-chat-contract.js';

/**
 * Who runs the `/proxy-ws` shared session when instances share Redis (system_config.cluster with enable_proxy): the
 * one instance holding the lease `vas:proxy:lease`. A child of the cluster actor, which tells it when Redis comes and
 * goes; it tells the proxy hub who the owner is (`proxy.owner`) whenever that changes, and when the hub asks.
 *
 *   offline → settling → contending ⇄ owning
 *
 * Never two owners. The lease lives `ttl` in Redis from each renewal received. The owner renews every ttl/4, and
 * steps down by itself ttl/2 after its last successful renewal came back, so at most 3/4 ttl after that renewal was
 * sent: always before Redis lets the lease go, whatever becomes of its link meanwhile (a partition, a Redis that
 * stops answering). An instance takes a free lease only after its link has been up for a whole ttl: a Redis that
 * restarted lost the lease early, and every link was cut by the restart, so by then any earlier owner has stepped
 * down. An owner whose link came back before it stepped down renews (taking the lease again if Redis lost it).
 */

export const PROXY_LEASE_SYSTEM_ID = 'proxyLease';

export interface ProxyLeaseInput {
  instanceId: string;
  ttlMs: number;
}

export type ProxyLeaseEvent =
  | { type: 'redis.up' }
  | { type: 'redis.down'; message: string }
  /** The hub asks who the owner is (it may start after the lease knew). */
  | { type: 'lease.tell' }
  | { type: 'lease.lapsed' };

/** What the hub hears: the owner's instance id, or null while nobody is known to hold the lease. */
export type ProxyOwnerEvent = { type: 'proxy.owner'; owner: string | null };

export interface AcquireInput {
  instanceId: string;
  ttlMs: number;
  /** false while settling: only look. */
  take: boolean;
}

interface LeaseContext extends ProxyLeaseInput {
  owner: string | null;
  linkUp: boolean;
  /** The link went down while this instance owned the lease: once it lapses, a whole ttl passes before taking it. */
  linkCycled: boolean;
}

const leaseSetup = setup({
  types: { context: {} as LeaseContext, events: {} as ProxyLeaseEvent, input: {} as ProxyLeaseInput },
  actors: {
    /**
     * Resolves with the lease's holder (null: nobody); with `take`, takes it first if nobody holds it
     * (src/cluster/proxy-lease-redis.ts).
     */
    acquire: fromPromise<string | null, AcquireInput>(() => {
      throw new Error('actor "acquire" must be provided with machine.provide()');
    }),
    /** Extends the lease if this instance holds it, or takes it if Redis lost it; false when somebody else holds it. */
    renew: fromPromise<boolean, { instanceId: string; ttlMs: number }>(() => {
      throw new Error('actor "renew" must be provided with machine.provide()');
    }),
  },
  delays: {
    settle: ({ context }) => context.ttlMs,
    poll: ({ context }) => context.ttlMs / 4,
    attemptDeadline: ({ context }) => context.ttlMs / 4,
    hold: ({ context }) => context.ttlMs / 2,
  },
  guards: {
    isMine: ({ context, event }) => (event as { output?: unknown }).output === context.instanceId,
    kept: ({ event }) => (event as { output?: unknown }).output === true,
    freshLink: ({ context }) => context.linkUp && !context.linkCycled,
    linkUp: ({ context }) => context.linkUp,
  },
  actions: {
    /** Says the owner to the hub when it changed (and always when `force`, the hub's question). */
    noteOwner: enqueueActions(({ context, system, enqueue }, params: { owner: string | null; force?: boolean }) => {
      if (params.owner === context.owner && !params.force) return;
      enqueue.assign({ owner: params.owner });
      const hub = system.get(PROXY_HUB_SYSTEM_ID);
      const told: ProxyOwnerEvent = { type: 'proxy.owner', owner: params.owner };
      if (hub) enqueue.sendTo(hub, told);
    }),
    linkUp: assign({ linkUp: true }),
    linkDown: assign({ linkUp: false }),
    cycled: assign({ linkCycled: true }),
    /** A renewal came back: the step-down moves to `hold` from now. */
    holdAgain: enqueueActions(({ enqueue }) => {
      enqueue.cancel('lapse');
      enqueue.raise({ type: 'lease.lapsed' }, { id: 'lapse', delay: 'hold' });
    }),
    renewed: assign({ linkCycled: false }),
    dropHold: enqueueActions(({ enqueue }) => enqueue.cancel('lapse')),
    /** Says (in the log, provided by src) that this instance now runs the shared session, or stopped running it. */
    announce: (_, _params: { owning: boolean }) => undefined,
  },
});

/** Asks Redis every ttl/4 who holds the lease (taking it if free when `take`). */
function polling(take: boolean) {
  return leaseSetup.createStateConfig({
    initial: 'trying',
    states: {
      trying: {
        invoke: {
          src: 'acquire',
          input: ({ context }) => ({ instanceId: context.instanceId, ttlMs: context.ttlMs, take }),
          onDone: [
            { guard: 'isMine', target: '#proxyLease.owning' },
            { target: 'resting', actions: { type: 'noteOwner', params: ({ event }) => ({ owner: event.output }) } },
          ],
          onError: 'resting',
        },
        after: { attemptDeadline: 'resting' },
      },
      resting: { after: { poll: 'trying' } },
    },
  });
}

export const proxyLeaseMachine = leaseSetup.createMachine({
  id: 'proxyLease',
  context: ({ input }) => ({ ...input, owner: null, linkUp: false, linkCycled: false }),
  on: {
    'lease.tell': { actions: { type: 'noteOwner', params: ({ context }) => ({ owner: context.owner, force: true }) } },
  },
  initial: 'offline',
  states: {
    /**
     * No link. The owner last heard of stays known for a ttl (a Redis restart or a short cut does not unlink this
     * instance's viewers from it; if it died meanwhile, the link to it ends on its own silence); then nobody is.
     */
    offline: {
      after: { settle: { actions: { type: 'noteOwner', params: { owner: null } } } },
      on: { 'redis.up': { target: 'settling', actions: 'linkUp' } },
    },
    /** The link is new: the owner is looked up (so that viewers are served meanwhile), not taken. */
    settling: {
      after: { settle: 'contending' },
      on: { 'redis.down': { target: 'offline', actions: 'linkDown' } },
      ...polling(false),
    },
    contending: {
      on: { 'redis.down': { target: 'offline', actions: 'linkDown' } },
      ...polling(true),
    },
    owning: {
      entry: ['holdAgain', { type: 'noteOwner', params: ({ context }) => ({ owner: context.instanceId }) }, { type: 'announce', params: { owning: true } }],
      exit: 'dropHold',
      on: {
        'lease.lapsed': 'lost',
        'redis.down': { actions: ['linkDown', 'cycled'] },
        'redis.up': { actions: 'linkUp' },
      },
      initial: 'resting',
      states: {
        resting: { after: { poll: 'renewing' } },
        renewing: {
          invoke: {
            src: 'renew',
            input: ({ context }) => ({ instanceId: context.instanceId, ttlMs: context.ttlMs }),
            onDone: [{ guard: 'kept', target: 'resting', actions: ['holdAgain', 'renewed'] }, { target: '#proxyLease.lost' }],
            onError: 'resting',
          },
          after: { attemptDeadline: 'resting' },
        },
      },
    },
    /** Stepped down (the hub stops the shared session at once); contending again, after a ttl if the link cycled. */
    lost: {
      entry: [{ type: 'noteOwner', params: { owner: null } }, { type: 'announce', params: { owning: false } }],
      always: [{ guard: 'freshLink', target: 'contending' }, { guard: 'linkUp', target: 'settling', actions: 'renewed' }, { target: 'offline', actions: 'renewed' }],
    },
  },
});
