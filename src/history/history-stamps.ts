import { randomUUID } from 'node:crypto';
import { formatLocalTimestamp } from './history-format.js';

/** Now, as history entries stamp it: local time, seconds, no zone (`2025-05-01T12:34:56`). */
export function localTimestamp(date = new Date()): string {
  return formatLocalTimestamp(date);
}

/** A new history's uid as upstream makes them: `YYYY-MM-DD_HH-MM-SS_<32 hex>`. */
export function newHistoryUid(date = new Date()): string {
  const stamp = formatLocalTimestamp(date).replace('T', '_').replaceAll(':', '-');
  return `${stamp}_${randomUUID().replace(/-/g, '')}`;
}
