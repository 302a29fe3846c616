import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HistoryError } from './history-error.js';
import { HISTORY_UID } from './history-format.js';

/**
 * Where histories live: `<root>/<conf_uid>/<history_uid>.json`. Uids are validated before any path is built, and
 * every folder is checked to stay directly inside the root, so no request can name a file elsewhere.
 */

/** The folder of one character's histories; throws HistoryError for a conf_uid that is not a plain name. */
export function confDir(root: string, confUid: string): string {
  if (!confUid || confUid === '.' || confUid === '..' || /[/\\\0]/.test(confUid) || confUid.length > 255) {
    throw new HistoryError('history_invalid_conf_uid', `conf_uid "${confUid.slice(0, 64)}" cannot name a history folder`);
  }
  const dir = path.join(root, confUid);
  if (path.dirname(dir) !== path.resolve(root)) throw new HistoryError('history_invalid_conf_uid', `conf_uid "${confUid}" leaves chat_history/`);
  return dir;
}

/** One history's file; throws HistoryError for a history_uid (or conf_uid) that cannot name one. */
export function historyFile(root: string, confUid: string, historyUid: string): string {
  if (typeof historyUid !== 'string' || !HISTORY_UID.test(historyUid)) {
    const shown = String(historyUid).slice(0, 64);
    throw new HistoryError('history_invalid_id', `"${shown}" is not a valid history_uid (letters, digits, "_" and "-", at most 128)`);
  }
  return path.join(confDir(root, confUid), `${historyUid}.json`);
}

/** The history_uid a file name in a character's folder stands for, or undefined for any other file. */
export function historyUidOf(fileName: string): string | undefined {
  const uid = fileName.endsWith('.json') ? fileName.slice(0, -5) : '';
  return HISTORY_UID.test(uid) ? uid : undefined;
}

/** The uid of a history file (its name without `.json`). */
export const uidOfFile = (file: string) => path.basename(file, '.json');

/** The conf_uid of a history file (its folder's name). */
export const confUidOfFile = (file: string) => path.basename(path.dirname(file));

const TEMP_FILE = /^\.(.+\.json)\.[0-9a-f]{12}\.tmp$/;

/** A new temporary file beside `file` for an atomic write of it: hidden, and named so a leftover is recognised. */
export function tempFileFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Whether a file name in a character's folder is a temporary file of an atomic write (one a crash may leave). */
export const isTempFileName = (fileName: string) => TEMP_FILE.test(fileName);
