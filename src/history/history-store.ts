import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { EncodedJsonArray } from '../protocol/encoded-json.js';
import { HISTORY_UID, isMessage, type HistoryEntry, type HistoryMessage } from './history-format.js';
import { localTimestamp, newHistoryUid } from './history-stamps.js';

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

/** What the store knows of one history file, without holding its messages. */
interface FileSummary {
  size: number;
  mtimeMs: number;
  /**
   * Its `history-list` entry (uid, latest message, timestamp), kept encoded: a flat string is small, and a list is
   * one join. Null for a history with no message (metadata only) or a file that cannot be read.
   */
  summary: { json: string; timestamp: string; shownKey?: string; shownJson?: string } | null;
  damaged: boolean;
}

/** How a list shows each history's latest message (`key` names the way, so previews are made once per file). */
export interface ListPreview {
  key: string;
  shown(message: HistoryMessage): HistoryMessage;
}

/** One character's folder: a summary per history file, kept current by the store's own writes. */
interface FolderIndex {
  files: Map<string, FileSummary>;
  /**
   * The folder's mtime as of the store's last look or own change (-1: no folder). Another mtime means somebody else
   * added, removed or replaced a file since.
   */
  dirMtimeMs: number;
  /** Our own changes to the folder in progress, and whether the folder was as recorded when they began. */
  ownChanges: number;
  trusted: boolean;
  /**
   * The summaries in `history-list` order (newest first), rebuilt after a change. Only the order is kept: the list's
   * text is joined at each list (a few ms at 10,000 histories), never held.
   */
  sorted: Array<NonNullable<FileSummary['summary']>> | null;
}

const TEMP_FILE = /^\.(.+\.json)\.[0-9a-f]{12}\.tmp$/;

/**
 * `chat_history/` in upstream's format, written so that nothing is lost:
 *  - every write is atomic: a temporary file in the same folder, fsync, rename, fsync of the folder;
 *  - writes to one file are serialised (sessions and group members may append to the same history at once);
 *  - a file that cannot be read or parsed is never overwritten: the operation fails with a HistoryError and the
 *    file is left as it is (D22);
 *  - uids are validated before any path is built, and every path is checked to stay inside `chat_history/`.
 *
 * `history-list` is answered from a per-character index of summaries (uid, latest message, timestamp), kept current
 * by the store's own writes and reconciled with the disk only when the folder changed behind its back (a file copied
 * in or deleted by hand, another process): listing N histories does not read N files. The index holds one message per
 * history, so its memory stays proportional to the number of files, not to their size.
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
  /** Summaries by conf_uid (a character's folder), built on the first list of that folder. */
  private readonly folders = new Map<string, FolderIndex>();
  /** Temporary files of writes in progress (a crash leaves others behind, which opening a folder removes). */
  private readonly writing = new Set<string>();

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
    const info = await stat(file).catch(() => undefined);
    if (info) this.remember(file, entries, info);
    return entries;
  }

  /** The file's content as of `info`, for the next append, and its summary for the next list. */
  private remember(file: string, entries: HistoryEntry[], info: { size: number; mtimeMs: number }) {
    this.cache.delete(file);
    this.cache.set(file, { entries, size: info.size, mtimeMs: info.mtimeMs });
    // A small cache: the histories being written to right now.
    if (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value!);
    const folder = this.folders.get(path.basename(path.dirname(file)));
    if (folder) {
      folder.files.set(path.basename(file, '.json'), summarize(path.basename(file, '.json'), entries, info));
      folder.sorted = null;
    }
  }

  private async writeAtomically(file: string, entries: HistoryEntry[]): Promise<void> {
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    this.writing.add(temp);
    const info = await this.changeFolder(dir, async () => {
      try {
        const handle = await open(temp, 'w');
        let written: { size: number; mtimeMs: number };
        try {
          await handle.writeFile(JSON.stringify(entries, null, 2), 'utf8');
          await handle.sync();
          written = await handle.stat();
        } finally {
          await handle.close();
        }
        await rename(temp, file);
        return written;
      } catch (err) {
        await unlink(temp).catch(() => undefined);
        throw err;
      } finally {
        this.writing.delete(temp);
      }
    });
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    this.remember(file, entries, info);
  }

  /**
   * Runs our own change to a folder (a temporary file, a rename, an unlink) so that the index can tell it from somebody
   * else's: if the folder was as we last saw it when our changes began, its mtime once they are all done is ours; if
   * not, the recorded time stays stale and the next list reconciles the index with the disk.
   */
  private async changeFolder<T>(dir: string, change: () => Promise<T>): Promise<T> {
    const folder = this.folders.get(path.basename(dir));
    if (!folder) return change();
    if (folder.ownChanges++ === 0) {
      const before = await stat(dir).catch(() => undefined);
      folder.trusted = before !== undefined && before.mtimeMs === folder.dirMtimeMs;
    }
    try {
      return await change();
    } finally {
      if (--folder.ownChanges === 0 && folder.trusted) {
        const after = await stat(dir).catch(() => undefined);
        // Another change of ours may have begun meanwhile: it takes over the bookkeeping.
        if (after && folder.ownChanges === 0) folder.dirMtimeMs = after.mtimeMs;
      }
    }
  }

  /** A new history's uid. Its file is written with its first message, so opening a page leaves nothing on disk. */
  newUid(confUid: string): string {
    this.confDir(confUid);
    return newHistoryUid();
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
      const folder = this.folders.get(confUid);
      if (folder?.files.delete(historyUid)) folder.sorted = null;
      try {
        await this.changeFolder(path.dirname(file), () => unlink(file));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw new HistoryError(`history ${historyUid} cannot be deleted (${(err as NodeJS.ErrnoException).code})`);
      }
    });
  }

  /**
   * `fetch-history-list`, encoded: histories with at least one message, newest first, from the folder's index. Damaged files
   * are skipped (and left alone). Empty ones (upstream wrote one per page open) are not listed, and removed only when
   * older than EMPTY_HISTORY_TTL_MS, so a history a session has just created is never deleted under it (D21).
   */
  async listEncoded(confUid: string, options: { preview?: ListPreview; now?: number } = {}): Promise<EncodedJsonArray> {
    const folder = await this.currentIndex(confUid);
    await this.removeOldEmpty(confUid, folder, options.now ?? Date.now());
    const { preview } = options;
    const key = preview?.key ?? '';
    folder.sorted ??= [...folder.files.values()]
      .flatMap((f) => (f.summary ? [f.summary] : []))
      .sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
    const json = (summary: NonNullable<FileSummary['summary']>) => {
      if (!preview) return summary.json;
      // Each file's preview is made once per way of showing it, not at every list; when it shows the same text, the
      // summary's own string is shared.
      if (summary.shownKey !== key) {
        const entry = JSON.parse(summary.json) as HistorySummary;
        const shown = JSON.stringify({ ...entry, latest_message: preview.shown(entry.latest_message) });
        summary.shownKey = key;
        summary.shownJson = shown === summary.json ? summary.json : shown;
      }
      return summary.shownJson!;
    };
    return new EncodedJsonArray(`[${folder.sorted.map(json).join(',')}]`, folder.sorted.length);
  }

  /** The same list, decoded. */
  async list(confUid: string, now = Date.now()): Promise<HistorySummary[]> {
    return JSON.parse((await this.listEncoded(confUid, { now })).text) as HistorySummary[];
  }

  /** The folder's index, reconciled with the disk when the folder changed behind the store's back. */
  private async currentIndex(confUid: string): Promise<FolderIndex> {
    const dir = this.confDir(confUid);
    const info = await stat(dir).catch(() => undefined);
    const mtimeMs = info?.mtimeMs ?? -1;
    let folder = this.folders.get(confUid);
    if (!folder) {
      // First look: every file is read once, and temporary files left by a crash are removed.
      folder = { files: new Map(), dirMtimeMs: mtimeMs, ownChanges: 0, trusted: false, sorted: null };
      this.folders.set(confUid, folder);
      if (info) await this.reconcile(confUid, folder, { removeTemps: true });
    } else if (mtimeMs !== folder.dirMtimeMs) {
      // Somebody else added, removed or replaced files: names are compared, and every known file's size and time.
      folder.dirMtimeMs = mtimeMs;
      if (info) await this.reconcile(confUid, folder, { removeTemps: false });
      else if (folder.files.size > 0) {
        folder.files.clear();
        folder.sorted = null;
      }
    }
    return folder;
  }

  /**
   * Brings the index in line with the folder: new files are read once, vanished ones dropped, files whose size or time
   * changed read again. A first look also removes temporary files left by a crash (none of this store's own writes).
   */
  private async reconcile(confUid: string, folder: FolderIndex, options: { removeTemps: boolean }) {
    const dir = this.confDir(confUid);
    const names = await readdir(dir).catch(() => [] as string[]);
    const present = new Set<string>();
    for (const name of names) {
      if (options.removeTemps && TEMP_FILE.test(name)) {
        const temp = path.join(dir, name);
        if (!this.writing.has(temp)) await rm(temp, { force: true }).catch(() => undefined);
        continue;
      }
      const uid = name.endsWith('.json') ? name.slice(0, -5) : '';
      if (!HISTORY_UID.test(uid)) continue;
      present.add(uid);
      const known = folder.files.get(uid);
      const file = path.join(dir, name);
      if (known) {
        const info = await stat(file).catch(() => undefined);
        if (info && info.size === known.size && info.mtimeMs === known.mtimeMs) continue;
      }
      await this.serial(file, () => this.summarizeFile(folder, uid, file));
    }
    for (const uid of folder.files.keys()) {
      if (!present.has(uid)) {
        folder.files.delete(uid);
        folder.sorted = null;
      }
    }
  }

  private async summarizeFile(folder: FolderIndex, uid: string, file: string) {
    folder.sorted = null;
    try {
      const entries = await this.readEntries(file);
      const info = await stat(file);
      folder.files.set(uid, summarize(uid, entries, info));
    } catch {
      const info = await stat(file).catch(() => undefined);
      if (info) folder.files.set(uid, { size: info.size, mtimeMs: info.mtimeMs, summary: null, damaged: true });
      else folder.files.delete(uid);
    }
  }

  private async removeOldEmpty(confUid: string, folder: FolderIndex, now: number) {
    for (const [uid, entry] of folder.files) {
      if (entry.summary || entry.damaged || now - entry.mtimeMs <= EMPTY_HISTORY_TTL_MS) continue;
      const file = this.file(confUid, uid);
      await this.serial(file, async () => {
        // Only if nobody wrote to it meanwhile.
        if (folder.files.get(uid) !== entry) return;
        this.cache.delete(file);
        folder.files.delete(uid);
        await this.changeFolder(path.dirname(file), () => rm(file, { force: true }));
      });
    }
  }
}

function summarize(uid: string, entries: HistoryEntry[], info: { size: number; mtimeMs: number }): FileSummary {
  let latest: HistoryMessage | undefined;
  for (let i = entries.length - 1; i >= 0 && !latest; i--) if (isMessage(entries[i])) latest = entries[i] as HistoryMessage;
  return {
    size: info.size,
    mtimeMs: info.mtimeMs,
    summary: latest ? { json: JSON.stringify({ uid, latest_message: latest, timestamp: latest.timestamp } satisfies HistorySummary), timestamp: latest.timestamp } : null,
    damaged: false,
  };
}
