import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { EncodedJsonArray } from '../protocol/encoded-json.js';
import { HISTORY_UID, isMessage, type HistoryEntry, type HistoryListEntry, type HistoryMessage } from './history-format.js';
import { localTimestamp, newHistoryUid } from './history-stamps.js';

/** A history problem with a message a person can act on (sent as an `error` frame). */
export class HistoryError extends Error {
  override name = 'HistoryError';
}

/** One entry of `history-list`, as the protocol names it. */
export type HistorySummary = HistoryListEntry;

/** Empty histories (metadata only) are not listed; they are removed once this old, never while a session may use them. */
export const EMPTY_HISTORY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * What the index knows of one history file, in one flat string: `<size> <mtimeMs> <state>`, where state is `L` and the
 * latest message's timestamp (the list's order) for a history that is listed, `E` for one with no message (metadata
 * only), `!` for a file that cannot be read or parsed. One string rather than an object with fields: the index holds
 * one per file, so every byte of it is 10 kB at 10,000 histories. The latest message itself is kept once, where the
 * list needs it: encoded, in the folder's lists.
 */
type FileRecord = string;

const LISTED = 'L';
const EMPTY = 'E';
const DAMAGED = '!';

/** A file's record, and for a listed history its latest message as JSON (for the lists). */
interface Summary {
  record: FileRecord;
  latest?: string;
}

/** How a list shows each history's latest message (`key` names the way: the same key shows the same text). */
export interface ListPreview {
  key: string;
  shown(message: HistoryMessage): HistoryMessage;
}

/**
 * The `histories` of a `history-list` for one way of showing them, encoded once and kept in step with the index, so
 * listing N histories neither joins nor encodes N summaries: the chunks are sent as they are. The list is kept in
 * chunks of about CHUNK_BYTES, and a change makes a new Buffer of the one chunk it touches, never of the whole list:
 * a megabyte Buffer made per page open is what brings V8's next full GC, and a Buffer is never changed once made (a
 * socket may still be sending it).
 */
interface EncodedList {
  key: string;
  preview: ListPreview | undefined;
  chunks: Chunk[];
}

/** Consecutive entries of a list, each preceded by a comma (`,entry,entry…`), and each entry's length in bytes. */
interface Chunk {
  bytes: Buffer;
  lengths: number[];
}

/** A chunk grows to twice this before it is split in two, and shrinks to a quarter before it joins a neighbour. */
const CHUNK_BYTES = 64 * 1024;

/** Ways of showing a folder's list kept encoded (the server uses one; tests and tools may list without a preview). */
const ENCODED_LISTS_PER_FOLDER = 2;

/** One character's folder: a record per history file, kept current by the store's own writes. */
interface FolderIndex {
  files: Map<string, FileRecord>;
  /** Uids of histories with no message, so the old ones are removed without looking at every record. */
  empty: Set<string>;
  /**
   * The folder's mtime as of the store's last look or own change (-1: no folder). Another mtime means somebody else
   * added, removed or replaced a file since.
   */
  dirMtimeMs: number;
  /** Our own changes to the folder in progress, and whether the folder was as recorded when they began. */
  ownChanges: number;
  trusted: boolean;
  /**
   * The uids of histories with a message, in `history-list` order (newest first), the same strings as the keys of
   * `files`; null until the first list.
   */
  listed: string[] | null;
  /** Most recently used first. */
  encoded: EncodedList[];
  /**
   * The latest message (JSON) of each listed history while a list is being made (by the first look at the folder,
   * or by reading the files again for a new way of showing them); null otherwise.
   */
  gathered: Map<string, string> | null;
  /** A list being made (one at a time). */
  making: Promise<void> | null;
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
 * history, so its memory stays proportional to the number of files, not to their size. The list itself is kept
 * encoded (in chunks, per way of showing it) and a write changes only the chunk of the entry it moves, so a list does
 * not encode N summaries either: it is sent as it is.
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
    if (folder) this.put(folder, path.basename(file, '.json'), summarize(entries, info));
  }

  /**
   * Sets (or with `undefined` removes) one file's record, and moves its entry in the list order and in each encoded
   * list. An unchanged record (a file read again) changes nothing.
   */
  private put(folder: FolderIndex, uid: string, summary: Summary | undefined) {
    const { files, listed } = folder;
    const record = summary?.record;
    if (summary?.latest !== undefined) folder.gathered?.set(uid, summary.latest);
    else folder.gathered?.delete(uid);
    const old = files.get(uid);
    if (old === record) return;
    let removedAt = -1;
    /** The index's own string for this uid (the key of `files`), when known. */
    let key: string | undefined;
    if (listed && old !== undefined && isListed(old)) {
      removedAt = positionIn(folder, uid, timestampOf(old));
      if (removedAt >= 0) {
        key = listed[removedAt];
        listed.splice(removedAt, 1);
      }
    }
    if (record === undefined) files.delete(uid);
    else if (key !== undefined) files.set(key, record);
    else {
      // A flat copy: the uid at hand is often a slice of a longer string (a path, a file name) it would keep alive.
      files.delete(uid);
      key = flatCopy(uid);
      files.set(key, record);
    }
    if (record !== undefined && stateOf(record) === EMPTY) folder.empty.add(key!);
    else folder.empty.delete(uid);
    if (!listed) return;
    const insertedAt = record !== undefined && isListed(record) ? insertionPoint(folder, uid, timestampOf(record)) : -1;
    if (insertedAt >= 0) listed.splice(insertedAt, 0, key!);
    for (const list of folder.encoded) {
      const entry = insertedAt >= 0 ? Buffer.from(entryJson(uid, summary!.latest!, list.preview)) : undefined;
      if (removedAt >= 0) removeEntry(list, removedAt);
      if (insertedAt >= 0) insertEntry(list, insertedAt, entry!);
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
      if (folder) this.put(folder, historyUid, undefined);
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
    folder.listed ??= newestFirst(folder.files);
    let list = folder.encoded.find((l) => l.key === key);
    while (!list) {
      if (folder.making) await folder.making;
      else {
        folder.making = this.encodeList(confUid, folder, preview).finally(() => (folder.making = null));
        await folder.making;
      }
      list = folder.encoded.find((l) => l.key === key);
    }
    folder.encoded.splice(folder.encoded.indexOf(list), 1);
    folder.encoded.unshift(list);
    // The same key shows the same text; the latest preview is kept for the changes to come.
    list.preview = preview;
    const parts = list.chunks.map((chunk, i) => (i === 0 ? chunk.bytes.subarray(1) : chunk.bytes));
    return new EncodedJsonArray([OPEN, ...parts, CLOSE], folder.listed.length);
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
      // The first look gathers the latest messages for the first list.
      const lists = { listed: null, encoded: [], gathered: new Map<string, string>(), making: null };
      folder = { files: new Map(), empty: new Set(), dirMtimeMs: mtimeMs, ownChanges: 0, trusted: false, ...lists };
      this.folders.set(confUid, folder);
      if (info) await this.reconcile(confUid, folder, { removeTemps: true });
    } else if (mtimeMs !== folder.dirMtimeMs) {
      // Somebody else added, removed or replaced files: names are compared, and every known file's size and time.
      folder.dirMtimeMs = mtimeMs;
      if (info) await this.reconcile(confUid, folder, { removeTemps: false });
      else if (folder.files.size > 0) {
        folder.files.clear();
        folder.empty.clear();
        folder.gathered?.clear();
        if (folder.listed) folder.listed = [];
        for (const list of folder.encoded) list.chunks = [];
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
      if (known !== undefined) {
        const info = await stat(file).catch(() => undefined);
        if (info && sameFile(known, info)) continue;
      }
      await this.serial(file, () => this.summarizeFile(folder, uid, file));
    }
    for (const uid of folder.files.keys()) if (!present.has(uid)) this.put(folder, uid, undefined);
  }

  private async summarizeFile(folder: FolderIndex, uid: string, file: string) {
    try {
      const entries = await this.readEntries(file);
      const info = await stat(file);
      this.put(folder, uid, summarize(entries, info));
    } catch {
      const info = await stat(file).catch(() => undefined);
      this.put(folder, uid, info ? { record: fileRecord(info, DAMAGED) } : undefined);
    }
  }

  /**
   * Encodes the folder's list for a way of showing it that has none yet, and adds it to the folder's lists. The latest
   * messages come from the first look at the folder, or else from reading the listed files again: a new way of showing
   * a folder is rare (the server shows a character's histories one way), and keeping every latest message twice, raw
   * beside encoded, would double the index's memory.
   */
  private async encodeList(confUid: string, folder: FolderIndex, preview: ListPreview | undefined) {
    const gathered = (folder.gathered ??= new Map());
    try {
      for (;;) {
        // Writes meanwhile put their own latest message; a file that cannot be read any more leaves the list.
        const missing = folder.listed!.filter((uid) => !gathered.has(uid));
        if (missing.length === 0) break;
        for (const uid of missing) {
          const file = this.file(confUid, uid);
          await this.serial(file, async () => {
            if (!gathered.has(uid) && folder.files.get(uid) !== undefined) await this.summarizeFile(folder, uid, file);
          });
        }
      }
      // Made and added in one step, so that no change is missed in between.
      folder.encoded.unshift(encodedList(folder.listed!, (uid) => gathered.get(uid)!, preview));
      folder.encoded.length = Math.min(folder.encoded.length, ENCODED_LISTS_PER_FOLDER);
    } finally {
      folder.gathered = null;
    }
  }

  private async removeOldEmpty(confUid: string, folder: FolderIndex, now: number) {
    for (const uid of [...folder.empty]) {
      const record = folder.files.get(uid);
      if (record === undefined || now - mtimeOf(record) <= EMPTY_HISTORY_TTL_MS) continue;
      const file = this.file(confUid, uid);
      await this.serial(file, async () => {
        // Only if nobody wrote to it meanwhile.
        if (folder.files.get(uid) !== record) return;
        this.cache.delete(file);
        this.put(folder, uid, undefined);
        await this.changeFolder(path.dirname(file), () => rm(file, { force: true }));
      });
    }
  }
}

function summarize(entries: HistoryEntry[], info: { size: number; mtimeMs: number }): Summary {
  let latest: HistoryMessage | undefined;
  for (let i = entries.length - 1; i >= 0 && !latest; i--) if (isMessage(entries[i])) latest = entries[i] as HistoryMessage;
  if (!latest) return { record: fileRecord(info, EMPTY) };
  const timestamp = typeof latest.timestamp === 'string' ? latest.timestamp : '';
  return { record: fileRecord(info, `${LISTED}${timestamp}`), latest: JSON.stringify(latest) };
}

/**
 * A flat copy of a string that is a slice, a concatenation or a JSON.stringify result (V8 keeps those in more memory
 * than their characters: a slice keeps its parent, a stringify result its spare capacity). For well-formed text only
 * (no lone surrogates), which JSON and uids are.
 */
function flatCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function fileRecord(info: { size: number; mtimeMs: number }, state: string): FileRecord {
  return flatCopy(`${info.size} ${info.mtimeMs} ${state}`);
}

const stateStart = (record: FileRecord) => record.indexOf(' ', record.indexOf(' ') + 1) + 1;
const stateOf = (record: FileRecord) => record[stateStart(record)];
const mtimeOf = (record: FileRecord) => Number(record.slice(record.indexOf(' ') + 1, stateStart(record) - 1));
const isListed = (record: FileRecord) => stateOf(record) === LISTED;

function sameFile(record: FileRecord, info: { size: number; mtimeMs: number }): boolean {
  return record.startsWith(`${info.size} ${info.mtimeMs} `);
}

/** A listed record's timestamp, by which the list is ordered. */
const timestampOf = (record: FileRecord) => record.slice(stateStart(record) + 1);

/** Newest first; at the same timestamp (to the second) the larger uid first (uids begin with their creation time). */
function compareOrder(aTimestamp: string, aUid: string, bTimestamp: string, bUid: string): number {
  if (aTimestamp !== bTimestamp) return aTimestamp < bTimestamp ? 1 : -1;
  return aUid < bUid ? 1 : aUid > bUid ? -1 : 0;
}

function newestFirst(files: Map<string, FileRecord>): string[] {
  const listed: Array<{ uid: string; timestamp: string }> = [];
  for (const [uid, record] of files) if (isListed(record)) listed.push({ uid, timestamp: timestampOf(record) });
  return listed.sort((a, b) => compareOrder(a.timestamp, a.uid, b.timestamp, b.uid)).map((entry) => entry.uid);
}

/** Where a history with this uid and timestamp goes in the folder's list (binary search). */
function insertionPoint(folder: FolderIndex, uid: string, timestamp: string): number {
  const listed = folder.listed!;
  let low = 0;
  let high = listed.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const other = listed[middle]!;
    if (compareOrder(timestampOf(folder.files.get(other)!), other, timestamp, uid) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function positionIn(folder: FolderIndex, uid: string, timestamp: string): number {
  const at = insertionPoint(folder, uid, timestamp);
  return folder.listed![at] === uid ? at : folder.listed!.indexOf(uid);
}

/** A history's `history-list` entry, as JSON. */
function entryJson(uid: string, latestJson: string, preview: ListPreview | undefined): string {
  const latest = JSON.parse(latestJson) as HistoryMessage;
  return JSON.stringify({ uid, latest_message: preview ? preview.shown(latest) : latest, timestamp: latest.timestamp } satisfies HistorySummary);
}

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

function encodedList(listed: string[], latestOf: (uid: string) => string, preview: ListPreview | undefined): EncodedList {
  const chunks: Chunk[] = [];
  let entries: string[] = [];
  let lengths: number[] = [];
  let size = 0;
  const close = () => {
    if (entries.length > 0) chunks.push({ bytes: Buffer.from(`,${entries.join(',')}`, 'utf8'), lengths });
    entries = [];
    lengths = [];
    size = 0;
  };
  for (const uid of listed) {
    const entry = entryJson(uid, latestOf(uid), preview);
    const length = Buffer.byteLength(entry);
    entries.push(entry);
    lengths.push(length);
    size += length + 1;
    if (size >= CHUNK_BYTES) close();
  }
  close();
  return { key: preview?.key ?? '', preview, chunks };
}

/** The chunk holding entry `position` and the entry's place in it; past the last entry, the end of the last chunk. */
function chunkAt(list: EncodedList, position: number): [number, number] {
  let start = 0;
  for (let c = 0; c < list.chunks.length; c++) {
    const count = list.chunks[c]!.lengths.length;
    if (position < start + count) return [c, position - start];
    start += count;
  }
  const last = list.chunks.length - 1;
  return [last, last >= 0 ? list.chunks[last]!.lengths.length : 0];
}

/** Byte offset of entry `index` in a chunk (its comma). */
function offsetIn(chunk: Chunk, index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) offset += chunk.lengths[i]! + 1;
  return offset;
}

function removeEntry(list: EncodedList, position: number) {
  const [c, index] = chunkAt(list, position);
  const chunk = list.chunks[c]!;
  const from = offsetIn(chunk, index);
  const to = from + chunk.lengths[index]! + 1;
  const lengths = chunk.lengths.filter((_, i) => i !== index);
  if (lengths.length === 0) {
    list.chunks.splice(c, 1);
    return;
  }
  list.chunks[c] = { bytes: Buffer.concat([chunk.bytes.subarray(0, from), chunk.bytes.subarray(to)]), lengths };
  // A chunk that shrank a lot joins a neighbour, so a list does not end up in many small pieces.
  const neighbour = c + 1 < list.chunks.length ? c + 1 : c - 1;
  if (list.chunks[c]!.bytes.length < CHUNK_BYTES / 4 && neighbour >= 0) {
    const [first, second] = neighbour > c ? [list.chunks[c]!, list.chunks[neighbour]!] : [list.chunks[neighbour]!, list.chunks[c]!];
    const joined = { bytes: Buffer.concat([first.bytes, second.bytes]), lengths: [...first.lengths, ...second.lengths] };
    list.chunks.splice(Math.min(c, neighbour), 2, joined);
  }
}

function insertEntry(list: EncodedList, position: number, entry: Buffer) {
  if (list.chunks.length === 0) {
    list.chunks.push({ bytes: Buffer.concat([COMMA, entry]), lengths: [entry.length] });
    return;
  }
  const [c, index] = chunkAt(list, position);
  const chunk = list.chunks[c]!;
  const at = offsetIn(chunk, index);
  const bytes = Buffer.concat([chunk.bytes.subarray(0, at), COMMA, entry, chunk.bytes.subarray(at)]);
  const lengths = [...chunk.lengths.slice(0, index), entry.length, ...chunk.lengths.slice(index)];
  if (bytes.length <= 2 * CHUNK_BYTES || lengths.length < 2) {
    list.chunks[c] = { bytes, lengths };
    return;
  }
  // Split in two by entries, each half a copy of its own (a view would keep the other half alive once it is replaced).
  const half = lengths.length >> 1;
  const cut = lengths.slice(0, half).reduce((sum, length) => sum + length + 1, 0);
  const halves = [
    { bytes: Buffer.from(bytes.subarray(0, cut)), lengths: lengths.slice(0, half) },
    { bytes: Buffer.from(bytes.subarray(cut)), lengths: lengths.slice(half) },
  ];
  list.chunks.splice(c, 1, ...halves);
}

const COMMA = Buffer.from(',');
