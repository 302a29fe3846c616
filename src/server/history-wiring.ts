import type { MemoryEvent } from '../../machines/memory.machine.js';
import type { FileLock } from '../history/file-lock.js';
import { HistoryStore, type HistoryWatcher } from '../history/history-store.js';

/**
 * The server's HistoryStore and who hears of its changes: long-term memory (its index kept in step, system_config.memory)
 * and the other instances (system_config.cluster: each write announced, each write under the file's lock in Redis).
 * What another instance wrote reaches memory too, and is not announced again.
 */
export function serverHistoryStore(
  root: string,
  options: { memory?: (event: MemoryEvent) => void; cluster?: { lock: FileLock; announce(confUid: string, historyUid: string, deleted: boolean): void } },
): HistoryStore {
  const { memory, cluster } = options;
  const watcher: HistoryWatcher | undefined =
    memory || cluster
      ? {
          changed: (confUid, historyUid, deleted, by) => {
            memory?.({ type: 'memory.changed', confUid, historyUid, deleted, ...(by ? { by } : {}) });
            cluster?.announce(confUid, historyUid, deleted);
          },
          learned: (confUid, historyUid, deleted) => memory?.({ type: 'memory.changed', confUid, historyUid, deleted }),
          listed: (confUid) => memory?.({ type: 'memory.reconcile', confUid }),
        }
      : undefined;
  return new HistoryStore(root, watcher, cluster?.lock);
}
