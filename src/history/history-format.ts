import { randomUUID } from 'node:crypto';

/**
 * The upstream on-disk format (UPSTREAM-BEHAVIOR §4): `chat_history/<conf_uid>/<history_uid>.json`, a JSON array whose
 * first element is `{"role":"metadata","timestamp":…}`, then messages. Files written here stay readable by the
 * Python server, and its files are read here.
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

/** Upstream's uids: `YYYY-MM-DD_HH-MM-SS_<32 hex>`. We accept any name of letters, digits, `_` and `-`. */
export const HISTORY_UID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time, seconds, no zone: `2025-05-01T12:34:56` (upstream's `datetime.now().isoformat(timespec="seconds")`). */
export function localTimestamp(date = new Date()): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function newHistoryUid(date = new Date()): string {
  const stamp = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}_${pad(date.getHours())}-${pad(date.getMinutes())}-${pad(date.getSeconds())}`;
  return `${stamp}_${randomUUID().replace(/-/g, '')}`;
}

export function isMessage(entry: unknown): entry is HistoryMessage {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Record<string, unknown>;
  return (e.role === 'human' || e.role === 'ai' || e.role === 'system') && typeof e.content === 'string';
}

export { joinDisplayTexts } from '../agent/display-texts.js';
