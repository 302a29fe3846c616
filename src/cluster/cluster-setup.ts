import type { ClusterInput } from '../../machines/cluster.machine.js';
import { clusterMachine } from '../../machines/cluster.machine.js';
import type { Logger } from '../observability/logger.js';
import type { SessionView } from '../observability/session-board.js';
import { createPublishCensus, readCensus } from './census.js';
import { createRedisConnectionActor, RedisLink } from './redis-link.js';
import { announceHistory, HISTORY_CHANNEL, historyNews, redisFileLock } from './history-sync.js';

export interface ClusterSettings {
  redis_url: string;
  census_every_seconds: number;
  census_ttl_seconds: number;
}

/**
 * system_config.cluster, wired: the `cluster` actor (its Redis link and census) and what the HTTP routes read.
 * Imported only when the cluster is configured, so that a single instance loads no Redis code.
 */
export function clusterSetup(
  settings: ClusterSettings,
  instanceId: string,
  logger: Logger,
  view: { url: () => string | null; sessions: () => SessionView[]; historyRoot: string; learnHistory: (confUid: string, historyUid: string, deleted: boolean) => void },
) {
  const link = new RedisLink();
  const channels = { [HISTORY_CHANNEL]: historyNews(instanceId, view.learnHistory) };
  const machine = clusterMachine.provide({
    actors: {
      redisConnection: createRedisConnectionActor(link, settings.redis_url, logger, channels),
      publishCensus: createPublishCensus(link, { ttlSeconds: settings.census_ttl_seconds, ...view }),
    },
  });
  const input: ClusterInput = { instanceId, publishEveryMs: settings.census_every_seconds * 1000, publishDeadlineMs: 2000 };
  return {
    machine,
    input,
    instances: () => readCensus(link),
    /** chat_history/ across instances: a lock per file, and news of each write for the others. */
    historyLock: redisFileLock(link, view.historyRoot, logger),
    announceHistory: announceHistory(link, instanceId),
  };
}
