import { EncodedJsonList } from './encoded-list.js';
import type { HistoryListEntry, HistoryMessage } from './history-format.js';
import { compareOrder, flatCopy, isEmpty, isListed, timestampOf, type FileRecord, type Summary } from './history-records.js';

/** How a list shows each history's latest message (`key` names the way: the same key shows the same text). */
export interface ListPreview {
  key: string;
  shown(message: HistoryMessage): HistoryMessage;
}

/**
 * The `histories` of a `history-list` for one way of showing them, encoded once and kept in step with the index, so
 * listing N histories neither joins nor encodes N summaries.
 */
export interface ShownList {
  key: string;
  preview: ListPreview | undefined;
  entries: EncodedJsonList;
}

/** Ways of showing a folder's list kept encoded (the server uses one; tests and tools may list without a preview). */
const SHOWN_LISTS_PER_FOLDER = 2;

/**
 * One character's folder as the store knows it, in memory: a record per history file, the uids of the listed ones in
 * `history-list` order, and that list encoded per way of showing it. `put` keeps all three in step; what is on disk is
 * brought in by the history index (history-index.ts).
 */
export class FolderIndex {
  /** A record per history file, by uid. */
  readonly files = new Map<string, FileRecord>();
  /** Uids of histories with no message, so the old ones are removed without looking at every record. */
  readonly empty = new Set<string>();
  /** Our own changes to the folder in progress, and whether the folder was as recorded when they began. */
  ownChanges = 0;
  trusted = false;
  /**
   * The uids of histories with a message, in `history-list` order (newest first), the same strings as the keys of
   * `files`; null until the first list.
   */
  listed: string[] | null = null;
  /** Most recently used first. */
  shown: ShownList[] = [];
  /**
   * The latest message (JSON) of each listed history while a list is being made (by the first look at the folder,
   * or by reading the files again for a new way of showing them); null otherwise.
   */
  gathered: Map<string, string> | null = new Map();
  /** A list being made (one at a time). */
  making: Promise<void> | null = null;

  /**
   * @param dirMtimeMs The folder's mtime as of the store's last look or own change (-1: no folder). Another mtime
   *   means somebody else added, removed or replaced a file since.
   */
  constructor(public dirMtimeMs: number) {}

  /** The listed uids in `history-list` order, put in order from the records on first use. */
  order(): string[] {
    return (this.listed ??= newestFirst(this.files));
  }

  /**
   * Sets (or with `undefined` removes) one file's record, and moves its entry in the list order and in each shown
   * list. An unchanged record (a file read again) changes nothing.
   */
  put(uid: string, summary: Summary | undefined): void {
    const { files, listed } = this;
    const record = summary?.record;
    if (summary?.latest !== undefined) this.gathered?.set(uid, summary.latest);
    else this.gathered?.delete(uid);
    const old = files.get(uid);
    if (old === record) return;
    let removedAt = -1;
    /** The index's own string for this uid (the key of `files`), when known. */
    let key: string | undefined;
    if (listed && old !== undefined && isListed(old)) {
      removedAt = this.positionOf(uid, timestampOf(old));
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
    if (record !== undefined && isEmpty(record)) this.empty.add(key!);
    else this.empty.delete(uid);
    if (!listed) return;
    const insertedAt = record !== undefined && isListed(record) ? this.insertionPoint(uid, timestampOf(record)) : -1;
    if (insertedAt >= 0) listed.splice(insertedAt, 0, key!);
    for (const list of this.shown) {
      const entry = insertedAt >= 0 ? Buffer.from(entryJson(uid, summary!.latest!, list.preview)) : undefined;
      if (removedAt >= 0) list.entries.remove(removedAt);
      if (insertedAt >= 0) list.entries.insert(insertedAt, entry!);
    }
  }

  /** The folder is gone: nothing is recorded and every list is empty. */
  clear(): void {
    if (this.files.size === 0) return;
    this.files.clear();
    this.empty.clear();
    this.gathered?.clear();
    if (this.listed) this.listed = [];
    for (const list of this.shown) list.entries.clear();
  }

  /** The shown list for `key`, made the most recently used; undefined when there is none yet. */
  use(key: string): ShownList | undefined {
    const list = this.shown.find((l) => l.key === key);
    if (list) {
      this.shown.splice(this.shown.indexOf(list), 1);
      this.shown.unshift(list);
    }
    return list;
  }

  /**
   * Adds the list for a new way of showing, encoded from the latest message of every listed history; the least
   * recently used list beyond SHOWN_LISTS_PER_FOLDER is dropped. Made and added in one step, so that no change is
   * missed in between.
   */
  addShown(preview: ListPreview | undefined, latestOf: (uid: string) => string): void {
    const listed = this.order();
    const entries = EncodedJsonList.of((function* () {
      for (const uid of listed) yield entryJson(uid, latestOf(uid), preview);
    })());
    this.shown.unshift({ key: preview?.key ?? '', preview, entries });
    this.shown.length = Math.min(this.shown.length, SHOWN_LISTS_PER_FOLDER);
  }

  /** Where a history with this uid and timestamp goes in the list (binary search). */
  private insertionPoint(uid: string, timestamp: string): number {
    const listed = this.listed!;
    let low = 0;
    let high = listed.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = listed[middle]!;
      if (compareOrder(timestampOf(this.files.get(other)!), other, timestamp, uid) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private positionOf(uid: string, timestamp: string): number {
    const at = this.insertionPoint(uid, timestamp);
    return this.listed![at] === uid ? at : this.listed!.indexOf(uid);
  }
}

function newestFirst(files: Map<string, FileRecord>): string[] {
  const listed: Array<{ uid: string; timestamp: string }> = [];
  for (const [uid, record] of files) if (isListed(record)) listed.push({ uid, timestamp: timestampOf(record) });
  return listed.sort((a, b) => compareOrder(a.timestamp, a.uid, b.timestamp, b.uid)).map((entry) => entry.uid);
}

/** A history's `history-list` entry, as JSON. */
function entryJson(uid: string, latestJson: string, preview: ListPreview | undefined): string {
  const latest = JSON.parse(latestJson) as HistoryMessage;
  return JSON.stringify({ uid, latest_message: preview ? preview.shown(latest) : latest, timestamp: latest.timestamp } satisfies HistoryListEntry);
}
