import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { HISTORY_UID, isMessage, localTimestamp, newHistoryUid, type HistoryEntry, type HistoryMessage } from './history-format.js';

/** A history problem with a message a person can act on (sent as an `error` frame). */
export class HistoryError extends Error {
  override name = 'HistoryError';
}

export interface HistorySummary {
  uid: string;
  latest_message: HistoryMessage;
  timestamp: string;
}

/** Empty histories (metadata only) are not listed; they are removed once this old, never while a session may use them. */
export const EMPTY_HISTORY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * `chat_history/` in upstream's format, written so that nothing is lost:
 *  - every write is atomic: a temporary file in the same folder, fsync, rename, fsync of the folder;
 *  - writes to one file are serialised (sessions and group members may append to the same history at once);
 *  - a file that cannot be read or parsed is never overwritten: the operation fails with a HistoryError and the
 *    file is left as it is (D22);
 *  - uids are validated before any path is built, and every path is checked to stay inside `chat_history/`.
 *
 * The store holds no per-client state; it is shared by all sessions and owned by the server, which waits for
 * pending writes before it exits (`flush`).
 */
export class HistoryStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * The last content written or read per file, with the file's size and mtime then, so an append need not re-read and
   * re-parse the file; a file changed by someone else since is read again.
   */
  private readonly cache = new Map<string, { entries: HistoryEntry[]; size: number; mtimeMs: number }>();

  constructor(readonly root: string) {}

  /** The folder of one character's histories; throws HistoryError for a conf_uid that is not a plain name. */
  confDir(confUid: string): string {
    if (!confUid || confUid === '.' || confUid === '..' || /[/\\\0]/.test(confUid) || confUid.length > 255) {
      throw new HistoryError(`conf_uid "${confUid.slice(0, 64)}" cannot name a history folder`);
    }
    const dir = path.join(this.root, confUid);
    if (path.dirname(dir) !== path.resolve(this.root)) throw new HistoryError(`conf_uid "${confUid}" leaves chat_history/`);
    return dir;
  }

  file(confUid: string, historyUid: string): string {
    if (typeof historyUid !== 'string' || !HISTORY_UID.test(historyUid)) {
      const shown = String(historyUid).slice(0, 64);
      throw new HistoryError(`"${shown}" is not a valid history_uid (letters, digits, "_" and "-", at most 128)`);
    }
    return path.join(this.confDir(confUid), `${historyUid}.json`);
  }

  /** Runs `work` after every earlier operation on the same file. */
  private serial<T>(file: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(file) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.queues.set(file, tail);
    void tail.then(() => {
      if (this.queues.get(file) === tail) this.queues.delete(file);
    });
    return next;
  }

  /** Resolves when every write started so far has finished. */
  async flush(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  private async readEntries(file: string): Promise<HistoryEntry[]> {
    const cached = this.cache.get(file);
    if (cached) {
      const info = await stat(file).catch(() => undefined);
      if (info && info.size === cached.size && info.mtimeMs === cached.mtimeMs) return cached.entries;
      this.cache.delete(file);
    }
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HistoryError(`history ${path.basename(file, '.json')} does not exist`);
      throw new HistoryError(`history ${path.basename(file, '.json')} cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new HistoryError(`history ${path.basename(file, '.json')} is damaged (not valid JSON); it was left untouched`);
    }
    if (!Array.isArray(data)) throw new HistoryError(`history ${path.basename(file, '.json')} is damaged (not a JSON array); it was left untouched`);
    const entries = data as HistoryEntry[];
    await this.remember(file, entries);
    return entries;
  }

  private async remember(file: string, entries: HistoryEntry[]) {
    this.cache.delete(file);
    const info = await stat(file).catch(() => undefined);
    if (!info) return;
    this.cache.set(file, { entries, size: info.size, mtimeMs: info.mtimeMs });
    // A small cache: the histories being written to right now.
    if (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value!);
  }

  private async writeAtomically(file: string, entries: HistoryEntry[]): Promise<void> {
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(JSON.stringify(entries, null, 2), 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    await this.remember(file, entries);
  }

  /** `create-new-history`: a new file holding only its metadata. */
  async create(confUid: string): Promise<string> {
    const uid = newHistoryUid();
    const file = this.file(confUid, uid);
    await this.serial(file, () => this.writeAtomically(file, [{ role: 'metadata', timestamp: localTimestamp() }]));
    return uid;
  }

  /**
   * Appends messages; resolves once they are on disk. A history that does not exist (yet, or any more) is created
   * with its metadata; a damaged one is refused.
   */
  async append(confUid: string, historyUid: string, messages: HistoryMessage[]): Promise<void> {
    const file = this.file(confUid, historyUid);
    return this.serial(file, async () => {
      let entries: HistoryEntry[];
      try {
        entries = await this.readEntries(file);
      } catch (err) {
        if (!(err instanceof HistoryError) || !/does not exist/.test(err.message)) throw err;
        entries = [{ role: 'metadata', timestamp: localTimestamp() }];
      }
      await this.writeAtomically(file, [...entries, ...messages]);
    });
  }

  /** `fetch-and-set-history`: the messages (metadata removed). */
  async read(confUid: string, historyUid: string): Promise<HistoryMessage[]> {
    const file = this.file(confUid, historyUid);
    return this.serial(file, async () => (await this.readEntries(file)).filter(isMessage));
  }

  /** `delete-history`; false when there was no such history. */
  async delete(confUid: string, historyUid: string): Promise<boolean> {
    const file = this.file(confUid, historyUid);
    return this.serial(file, async () => {
      this.cache.delete(file);
      try {
        await unlink(file);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new HistoryError(`history ${historyUid} cannot be deleted (${(err as NodeJS.ErrnoException).code})`);
      }
    });
  }

  /**
   * `fetch-history-list`: histories with at least one message, newest first. Damaged files are skipped (and left
   * alone). Empty ones are not listed, and removed only when older than EMPTY_HISTORY_TTL_MS, so a history a
   * session has just created is never deleted under it (D21).
   */
  async list(confUid: string, now = Date.now()): Promise<HistorySummary[]> {
    const dir = this.confDir(confUid);
    const names = await readdir(dir).catch(() => [] as string[]);
    const found: HistorySummary[] = [];
    for (const name of names) {
      const uid = name.endsWith('.json') ? name.slice(0, -5) : '';
      if (!HISTORY_UID.test(uid)) continue;
      const file = path.join(dir, name);
      let messages: HistoryMessage[];
      try {
        messages = await this.read(confUid, uid);
      } catch {
        continue;
      }
      const latest = messages[messages.length - 1];
      if (latest) {
        found.push({ uid, latest_message: latest, timestamp: latest.timestamp });
        continue;
      }
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > EMPTY_HISTORY_TTL_MS) {
        await this.serial(file, async () => {
          this.cache.delete(file);
          await rm(file, { force: true });
        });
      }
    }
    return found.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
  }
}
