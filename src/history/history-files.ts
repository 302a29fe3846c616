import { readFile, stat } from 'node:fs/promises';
import { writeFileDurably, type FileStamp } from './durable-file.js';
import { HistoryError } from './history-error.js';
import type { HistoryEntry } from './history-format.js';
import { uidOfFile } from './history-paths.js';

/** Who keeps track of history files besides their content (the folder index). */
export interface HistoryFileObserver {
  /** `file` holds `entries` as of `stamp` (just read or just written). */
  seen(file: string, entries: HistoryEntry[], stamp: FileStamp): void;
  /** Runs a change of ours to a folder (see DurableWriteOptions.changingFolder). */
  changingFolder<T>(dir: string, change: () => Promise<T>): Promise<T>;
}

/** The histories being written to right now: a small cache. */
const CACHED_FILES = 32;

/**
 * Reading and writing one history file: a JSON array of entries, written durably. The last content read or written
 * per file is kept with the file's stamp then, so an append need not re-read and re-parse the file; a file changed by
 * someone else since is read again. A file that cannot be read or parsed is never overwritten: reading it fails with a
 * HistoryError, so no write that follows a read can replace it.
 */
export class HistoryFiles {
  private readonly cache = new Map<string, { entries: HistoryEntry[]; size: number; mtimeMs: number }>();
  /** Temporary files of writes in progress (a crash leaves others behind, which the folder index removes). */
  private readonly writing = new Set<string>();

  constructor(private readonly observer: HistoryFileObserver) {}

  /** The file's entries; throws HistoryError (`history_not_found`, `history_unreadable`, `history_damaged`). */
  async read(file: string): Promise<HistoryEntry[]> {
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
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new HistoryError('history_not_found', `history ${uidOfFile(file)} does not exist`);
      throw new HistoryError('history_unreadable', `history ${uidOfFile(file)} cannot be read (${code})`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new HistoryError('history_damaged', `history ${uidOfFile(file)} is damaged (not valid JSON); it was left untouched`);
    }
    if (!Array.isArray(data)) throw new HistoryError('history_damaged', `history ${uidOfFile(file)} is damaged (not a JSON array); it was left untouched`);
    const entries = data as HistoryEntry[];
    const info = await stat(file).catch(() => undefined);
    if (info) this.remember(file, entries, info);
    return entries;
  }

  /** Replaces the file's content with `entries` (upstream's layout: indented, not \u-escaped); resolves once on disk. */
  async write(file: string, entries: HistoryEntry[]): Promise<void> {
    const stamp = await writeFileDurably(file, JSON.stringify(entries, null, 2), {
      changingFolder: (dir, change) => this.observer.changingFolder(dir, change),
      onTempFile: (temp, exists) => (exists ? this.writing.add(temp) : this.writing.delete(temp)),
    });
    this.remember(file, entries, stamp);
  }

  /** Drops what is cached of a file about to be removed. */
  forget(file: string): void {
    this.cache.delete(file);
  }

  /** Whether `temp` is the temporary file of a write in progress. */
  isWriting(temp: string): boolean {
    return this.writing.has(temp);
  }

  /** Writes in progress (their temporary files exist). */
  get writesInProgress(): number {
    return this.writing.size;
  }

  /** The file's content as of `stamp`, for the next append, and for the observer. */
  private remember(file: string, entries: HistoryEntry[], stamp: FileStamp) {
    this.cache.delete(file);
    this.cache.set(file, { entries, size: stamp.size, mtimeMs: stamp.mtimeMs });
    if (this.cache.size > CACHED_FILES) this.cache.delete(this.cache.keys().next().value!);
    this.observer.seen(file, entries, stamp);
  }
}
