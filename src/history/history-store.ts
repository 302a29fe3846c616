import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { EncodedJsonArray } from '../protocol/encoded-json.js';
import { FileQueues } from './file-queues.js';
import { noFileLock, type FileLock } from './file-lock.js';
import type { ListPreview } from './folder-index.js';
import { HistoryError, isHistoryError } from './history-error.js';
import { isMessage, type HistoryEntry, type HistoryListEntry, type HistoryMessage } from './history-format.js';
import { HistoryFiles } from './history-files.js';
import { HistoryIndex, STALE_TEMP_MS } from './history-index.js';
import { confDir, historyFile } from './history-paths.js';
import { localTimestamp, newHistoryUid } from './history-stamps.js';

export { HistoryError, type HistoryErrorCode } from './history-error.js';
export { EMPTY_HISTORY_TTL_MS } from './history-index.js';
export type { ListPreview } from './folder-index.js';

/** Long-term memory's hooks (they must not throw): a history written or deleted, a character's histories listed. */
export interface HistoryWatcher {
  /** `by`: the client whose session wrote it, when one did. */
  changed(confUid: string, historyUid: string, deleted: boolean, by?: string): void;
  /** A client listed the histories (a page open): files changed by hand meanwhile are found again. */
  listed(confUid: string): void;
  /** Another instance wrote or deleted a history (system_config.cluster). */
  learned?(confUid: string, historyUid: string, deleted: boolean): void;
}

/** One entry of `history-list`, as the protocol names it. */
export type HistorySummary = HistoryListEntry;

/**
 * `chat_history/` in upstream's format, written so that nothing is lost. The rooms behind it:
 *  - history-paths.ts: uids are validated before any path is built, and every path stays inside `chat_history/`;
 *  - file-queues.ts: operations on one file are serialised (sessions and group members may append to one history);
 *  - history-files.ts and durable-file.ts: every write is atomic (a temporary file, fsync, rename, fsync of the
 *    folder), and a file that cannot be read or parsed is never overwritten: the operation fails with a HistoryError
 *    and the file is left as it is (docs/upstream-defects.md, U37);
 *  - history-index.ts, folder-index.ts and encoded-list.ts: `history-list` from a per-character index kept encoded,
 *    so a list neither reads N files nor encodes N summaries.
 *
 * The store holds no per-client state; it is shared by all sessions and owned by the server, which waits for
 * pending writes before it exits (`flush`).
 */
export class HistoryStore {
  private readonly queues = new FileQueues();
  private readonly files: HistoryFiles;
  private readonly index: HistoryIndex;

  constructor(
    readonly root: string,
    private readonly watcher?: HistoryWatcher,
    /** Across processes (system_config.cluster): each append and delete holds the file's lock. */
    private readonly lock: FileLock = noFileLock,
  ) {
    // The index observes the files' reads and writes; the files are read by the index: wired here, once.
    this.files = new HistoryFiles({
      seen: (file, entries, stamp) => this.index.seen(file, entries, stamp),
      changingFolder: (dir, change) => this.index.changingFolder(dir, change),
    });
    this.index = new HistoryIndex(root, this.queues, this.files, { staleTempMs: lock.shared ? STALE_TEMP_MS : 0 });
  }

  /** The folder of one character's histories; throws HistoryError for a conf_uid that is not a plain name. */
  confDir(confUid: string): string {
    return confDir(this.root, confUid);
  }

  file(confUid: string, historyUid: string): string {
    return historyFile(this.root, confUid, historyUid);
  }

  /** Resolves when every write started so far has finished. */
  flush(): Promise<void> {
    return this.queues.drain();
  }

  /** A new history's uid. Its file is written with its first message, so opening a page leaves nothing on disk. */
  newUid(confUid: string): string {
    this.confDir(confUid);
    return newHistoryUid();
  }

  /**
   * Appends messages; resolves once they are on disk. A history that does not exist (yet, or any more) is created
   * with its metadata; a damaged one is refused. `by`: the client whose session writes.
   */
  async append(confUid: string, historyUid: string, messages: HistoryMessage[], by?: string): Promise<void> {
    const file = this.file(confUid, historyUid);
    return this.queues.run(file, () => this.lock.around(file, async () => {
      let entries: HistoryEntry[];
      try {
        entries = await this.files.read(file);
      } catch (err) {
        if (!isHistoryError(err, 'history_not_found')) throw err;
        entries = [{ role: 'metadata', timestamp: localTimestamp() }];
      }
      await this.files.write(file, [...entries, ...messages]);
      this.watcher?.changed(confUid, historyUid, false, by);
    }));
  }

  /** `fetch-and-set-history`: the messages (metadata removed). */
  async read(confUid: string, historyUid: string): Promise<HistoryMessage[]> {
    const file = this.file(confUid, historyUid);
    return this.queues.run(file, async () => (await this.files.read(file)).filter(isMessage));
  }

  /** `delete-history`; false when there was no such history. */
  async delete(confUid: string, historyUid: string): Promise<boolean> {
    const file = this.file(confUid, historyUid);
    return this.queues.run(file, () => this.lock.around(file, async () => {
      this.files.forget(file);
      this.index.dropped(confUid, historyUid);
      try {
        await this.index.changingFolder(path.dirname(file), () => unlink(file));
        this.watcher?.changed(confUid, historyUid, true);
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return false;
        throw new HistoryError('history_not_deleted', `history ${historyUid} cannot be deleted (${code})`);
      }
    }));
  }

  /**
   * Another instance wrote or deleted this history (system_config.cluster, told through Redis): the list and long-term
   * memory learn of it without reading the folder again. A uid that cannot name a file is ignored.
   */
  async learn(confUid: string, historyUid: string, deleted: boolean): Promise<void> {
    let file: string;
    try {
      file = this.file(confUid, historyUid);
    } catch {
      return;
    }
    await this.queues.run(file, async () => {
      this.files.forget(file);
      await this.index.learn(confUid, historyUid, file, deleted);
      this.watcher?.learned?.(confUid, historyUid, deleted);
    });
  }

  /**
   * `fetch-history-list`, encoded: histories with at least one message, newest first. Damaged files are skipped (and
   * left alone); empty ones are not listed, and removed once old (history-index.ts).
   */
  listEncoded(confUid: string, options: { preview?: ListPreview; now?: number } = {}): Promise<EncodedJsonArray> {
    this.watcher?.listed(confUid);
    return this.index.listEncoded(confUid, options);
  }

  /** The same list, decoded. */
  async list(confUid: string, now = Date.now()): Promise<HistorySummary[]> {
    return JSON.parse((await this.listEncoded(confUid, { now })).text) as HistorySummary[];
  }
}
