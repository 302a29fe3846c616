/**
 * The upstream on-disk format (docs/protocol.md, 'History'): `chat_history/<conf_uid>/<history_uid>.json`, a JSON array whose
 * first element is `{"role":"metadata","timestamp":…}`, then messages. Files written here stay readable by the
 * Python server, and its files are read here. Pure, so machines may use its types: the clock and the random part
 * of a new uid are in history-stamps.ts.
 */
export interface HistoryMessage {
  role: 'human' | 'ai' | 'system';
  timestamp: string;
  content: string;
  name?: string;
  avatar?: string;
}

export interface HistoryMetadata {
  role: 'metadata';
  timestamp: string;
  [key: string]: unknown;
}

export type HistoryEntry = HistoryMetadata | HistoryMessage;

/** One entry of the `history-list` frame: a history and its latest message. */
export interface HistoryListEntry {
  uid: string;
  latest_message: HistoryMessage;
  timestamp: string;
}

/** Upstream's uids: `YYYY-MM-DD_HH-MM-SS_<32 hex>`. We accept any name of letters, digits, `_` and `-`. */
export const HISTORY_UID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

const pad = (n: number) => String(n).padStart(2, '0');

/** `date` in local time, seconds, no zone: `2025-05-01T12:34:56` (upstream's `datetime.now().isoformat(timespec="seconds")`). */
export function formatLocalTimestamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function isMessage(entry: unknown): entry is HistoryMessage {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Record<string, unknown>;
  return (e.role === 'human' || e.role === 'ai' || e.role === 'system') && typeof e.content === 'string';
}
