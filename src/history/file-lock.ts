/**
 * A lock on one history file across processes, around each read-modify-write of it (an append, a delete), so that
 * two instances appending to one history never lose one of the appends. Within a process, the store's per-file
 * queues already order the work; one instance alone needs no more (`noFileLock`). With system_config.cluster, the
 * lock is Redis's (`redisFileLock` in src/cluster/history-sync.ts).
 */
export interface FileLock {
  around<T>(file: string, work: () => Promise<T>): Promise<T>;
  /** Other processes write in the same folders (then a fresh temporary file may be one of their writes). */
  readonly shared: boolean;
}

export const noFileLock: FileLock = { around: (_file, work) => work(), shared: false };
