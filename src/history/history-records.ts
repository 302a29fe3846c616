import type { FileStamp } from './durable-file.js';
import { isMessage, type HistoryEntry, type HistoryMessage } from './history-format.js';

/**
 * What the folder index knows of one history file, in one flat string: `<size> <mtimeMs> <state>`, where state is `L`
 * and the latest message's timestamp (the list's order) for a history that is listed, `E` for one with no message
 * (metadata only), `!` for a file that cannot be read or parsed. One string rather than an object with fields: the
 * index holds one per file, so every byte of it is 10 kB at 10,000 histories. The latest message itself is kept once,
 * where the list needs it: encoded, in the folder's lists.
 */
export type FileRecord = string;

const LISTED = 'L';
const EMPTY = 'E';
const DAMAGED = '!';

/** A file's record, and for a listed history its latest message as JSON (for the lists). */
export interface Summary {
  record: FileRecord;
  latest?: string;
}

/** The summary of a file holding `entries` as of `stamp`. */
export function summarize(entries: HistoryEntry[], stamp: FileStamp): Summary {
  let latest: HistoryMessage | undefined;
  for (let i = entries.length - 1; i >= 0 && !latest; i--) if (isMessage(entries[i])) latest = entries[i] as HistoryMessage;
  if (!latest) return { record: fileRecord(stamp, EMPTY) };
  const timestamp = typeof latest.timestamp === 'string' ? latest.timestamp : '';
  return { record: fileRecord(stamp, `${LISTED}${timestamp}`), latest: JSON.stringify(latest) };
}

/** The record of a file that cannot be read or parsed: never listed, never removed. */
export const damagedRecord = (stamp: FileStamp): FileRecord => fileRecord(stamp, DAMAGED);

/**
 * A flat copy of a string that is a slice, a concatenation or a JSON.stringify result (V8 keeps those in more memory
 * than their characters: a slice keeps its parent, a stringify result its spare capacity). For well-formed text only
 * (no lone surrogates), which JSON and uids are.
 */
export function flatCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function fileRecord(stamp: FileStamp, state: string): FileRecord {
  return flatCopy(`${stamp.size} ${stamp.mtimeMs} ${state}`);
}

const stateStart = (record: FileRecord) => record.indexOf(' ', record.indexOf(' ') + 1) + 1;
const stateOf = (record: FileRecord) => record[stateStart(record)];

/** The file's mtime when it was recorded. */
export const mtimeOf = (record: FileRecord) => Number(record.slice(record.indexOf(' ') + 1, stateStart(record) - 1));
/** A history with at least one message: it is listed. */
export const isListed = (record: FileRecord) => stateOf(record) === LISTED;
/** A history with no message (metadata only): not listed, removed once old. */
export const isEmpty = (record: FileRecord) => stateOf(record) === EMPTY;
/** A listed record's timestamp, by which the list is ordered. */
export const timestampOf = (record: FileRecord) => record.slice(stateStart(record) + 1);

/** Whether the file still has the size and mtime it had when recorded. */
export function sameFile(record: FileRecord, stamp: FileStamp): boolean {
  return record.startsWith(`${stamp.size} ${stamp.mtimeMs} `);
}

/** Newest first; at the same timestamp (to the second) the larger uid first (uids begin with their creation time). */
export function compareOrder(aTimestamp: string, aUid: string, bTimestamp: string, bUid: string): number {
  if (aTimestamp !== bTimestamp) return aTimestamp < bTimestamp ? 1 : -1;
  return aUid < bUid ? 1 : aUid > bUid ? -1 : 0;
}
