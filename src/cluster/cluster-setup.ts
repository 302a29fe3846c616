import type { ClusterInput } from '../../machines/cluster.machine.js';
import { clusterMachine } from '../../machines/cluster.machine.js';
import { proxyLeaseMachine } from '../../machines/proxy-lease.machine.js';
import type { Logger } from '../observability/logger.js';
import type { SessionView } from '../observability/session-board.js';
import { createPublishCensus, readCensus } from './census.js';
import { createRedisConnectionActor, RedisLink, type ChannelListener } from './redis-link.js';
import { createPeerUpstream } from './peer-upstream.js';
import { createPeerViewer } from './peer-viewer.js';
import { createLeaseActors } from './proxy-lease-redis.js';
import { proxyChannel, proxyMailbox } from './proxy-mail.js';
import { groupChannel, groupMailbox } from './group-mail.js';
import { createRemoteMember } from './remote-member.js';
import { createGroupWire } from './group-wire.js';
import { createGroupRecord, readGroupRecords } from './group-record.js';
import { announceHistory, HISTORY_CHANNEL, historyNews, redisFileLock } from './history-sync.js';

export interface ClusterSettings {
  redis_url: string;
  census_every_seconds: number;
  census_ttl_seconds: number;
  proxy_lease_seconds: number;
}

/**
 * system_config.cluster, wired: the `cluster` actor (its Redis link and census) and what the HTTP routes read.
 * Imported only when the cluster is configured, so that a single instance loads no Redis code.
 */
export function clusterSetup(
  settings: ClusterSettings,
  instanceId: string,
  logger: Logger,
  view: { url: () => string | null; sessions: () => SessionView[]; historyRoot: string; learnHistory: (confUid: string, historyUid: string, deleted: boolean) => void; proxy: boolean },
) {
  const link = new RedisLink();
  const learn = historyNews(instanceId, view.learnHistory);
  const channels: Record<string, ChannelListener> = { [HISTORY_CHANNEL]: (message) => learn(message) };
  if (view.proxy) channels[proxyChannel(instanceId)] = proxyMailbox(logger);
  channels[groupChannel(instanceId)] = groupMailbox(logger);
  const machine = clusterMachine.provide({
    actors: {
      redisConnection: createRedisConnectionActor(link, settings.redis_url, logger, channels),
      publishCensus: createPublishCensus(link, { ttlSeconds: settings.census_ttl_seconds, ...view }),
      proxyLease: proxyLeaseMachine.provide({
        actors: createLeaseActors(link),
        actions: {
          announce: (_, params: { owning: boolean }) =>
            logger.info(params.owning ? 'cluster: this instance holds the proxy lease and runs the shared /proxy-ws session' : 'cluster: this instance stepped down: it no longer runs the shared /proxy-ws session'),
        },
      }),
    },
  });
  const leaseMs = settings.proxy_lease_seconds * 1000;
  const input: ClusterInput = { instanceId, publishEveryMs: settings.census_every_seconds * 1000, publishDeadlineMs: 2000, proxyLeaseMs: view.proxy ? leaseMs : null };
  // Each side of a proxy link pings four times per lease and gives the other up after a lease of silence.
  const peerTimes = { pingMs: leaseMs / 4, silenceMs: leaseMs };
  return {
    machine,
    input,
    instances: () => readCensus(link),
    groups: () => readGroupRecords(link),
    /** chat_history/ across instances: a lock per file, and news of each write for the others. */
    historyLock: redisFileLock(link, view.historyRoot, logger),
    announceHistory: announceHistory(link, instanceId),
    /** The proxy hub's slots across instances (machines/proxy-hub-peers.ts). */
    proxyPeers: { peerViewer: createPeerViewer(link, instanceId, peerTimes, logger), peerUpstream: createPeerUpstream(link, instanceId, peerTimes, logger) },
    /** Groups across instances: the group's stand-in for a member elsewhere, a member's wire to its group, the group's record. */
    groupPeers: {
      remoteMember: createRemoteMember(link, instanceId, peerTimes, logger),
      wire: createGroupWire(link, instanceId, peerTimes),
      // A group's record in Redis is its lease: it lapses a lease after its instance stops renewing it.
      record: createGroupRecord(link, instanceId, leaseMs, logger),
    },
  };
}
