import { assign, enqueueActions, fromCallback, fromPromise, setup, type EventObject } from 'xstate';
import { PROXY_LEASE_SYSTEM_ID, proxyLeaseMachine } from './proxy-lease.machine.js';

/**
 * More than one instance (system_config.cluster): the server's `cluster` child, spawned only when the cluster is
 * configured. It owns the link to Redis (`redis`: one client, reconnecting by itself) and, while Redis answers,
 * publishes this instance's census (its sessions) every `publishEveryMs` with a time to live, so that any instance
 * can list every instance's sessions and an instance that dies drops out of the list by itself.
 *
 *   down ⇄ up (publishing → waiting → publishing …)
 *
 * Redis going away never touches a session: only what crosses instances fails meanwhile, with a coded error. With
 * the proxy on, its child `proxyLease` (proxy-lease.machine.ts) decides which instance runs the shared `/proxy-ws`
 * session, and hears from here when Redis comes and goes.
 */

export const CLUSTER_SYSTEM_ID = 'cluster';

export type ClusterEvent = { type: 'redis.up' } | { type: 'redis.down'; message: string };

export interface ClusterInput {
  instanceId: string;
  publishEveryMs: number;
  /** Bound on one publication (a Redis that hangs does not stop the next one). */
  publishDeadlineMs: number;
  /** With /proxy-ws: the lease's time to live (proxy_lease_seconds); null without the proxy. */
  proxyLeaseMs: number | null;
}

export interface ClusterContext extends ClusterInput {
  /** Why Redis is not answering (null while it is). */
  lastError: string | null;
  published: number;
  /**
   * The sessions of the other instances, by client uid, as their census said at the last publication (empty while
   * Redis is away): read by a group asked to invite one of them (group-membership.ts).
   */
  elsewhere: Record<string, string>;
}

/** What a publication reads back: the other instances' sessions, client uid → instance id. */
export type Elsewhere = Record<string, string>;

export const clusterMachine = setup({
  types: { context: {} as ClusterContext, events: {} as ClusterEvent, input: {} as ClusterInput },
  actors: {
    /** Owns the Redis client; reports `redis.up` / `redis.down` (src/cluster/redis-link.ts). */
    redisConnection: fromCallback<EventObject>(() => {
      throw new Error('actor "redisConnection" must be provided with machine.provide()');
    }),
    /** Writes this instance's census with its time to live, and reads the other instances' sessions. */
    publishCensus: fromPromise<Elsewhere, { instanceId: string }>(() => {
      throw new Error('actor "publishCensus" must be provided with machine.provide()');
    }),
    proxyLease: proxyLeaseMachine,
  },
  actions: {
    noteDown: assign({ lastError: ({ event }) => (event.type === 'redis.down' ? event.message : null), elsewhere: {} }),
    noteUp: assign({ lastError: null }),
    countPublished: assign({ published: ({ context }) => context.published + 1 }),
    noteElsewhere: assign({ elsewhere: (_, elsewhere: Elsewhere) => elsewhere }),
    /** The lease hears of the link's coming and going. */
    tellLease: enqueueActions(({ context, event, enqueue }) => {
      if (context.proxyLeaseMs !== null) enqueue.sendTo('proxyLease', event);
    }),
    startLease: enqueueActions(({ context, enqueue }) => {
      if (context.proxyLeaseMs === null) return;
      enqueue.spawnChild('proxyLease', { id: 'proxyLease', systemId: PROXY_LEASE_SYSTEM_ID, input: { instanceId: context.instanceId, ttlMs: context.proxyLeaseMs } });
    }),
  },
  delays: {
    publishEvery: ({ context }) => context.publishEveryMs,
    publishDeadline: ({ context }) => context.publishDeadlineMs,
  },
}).createMachine({
  id: 'cluster',
  context: ({ input }) => ({ ...input, lastError: 'connecting', published: 0, elsewhere: {} }),
  invoke: { id: 'redis', src: 'redisConnection' },
  entry: 'startLease',
  initial: 'down',
  states: {
    down: {
      on: { 'redis.up': { target: 'up', actions: ['noteUp', 'tellLease'] }, 'redis.down': { actions: ['noteDown', 'tellLease'] } },
    },
    up: {
      on: { 'redis.down': { target: 'down', actions: ['noteDown', 'tellLease'] } },
      initial: 'publishing',
      states: {
        publishing: {
          invoke: {
            src: 'publishCensus',
            input: ({ context }) => ({ instanceId: context.instanceId }),
            onDone: { target: 'waiting', actions: ['countPublished', { type: 'noteElsewhere', params: ({ event }) => event.output }] },
            // The link says when Redis is gone; a failed write is tried again at the next publication.
            onError: { target: 'waiting' },
          },
          after: { publishDeadline: { target: 'waiting' } },
        },
        waiting: { after: { publishEvery: { target: 'publishing' } } },
      },
    },
  },
});
