/**
 * What went wrong with a history, as a stable code: callers decide by the code, never by the message, which is for
 * people (it is sent as it is in an `error` frame, so its wording is part of what a client sees).
 */
export const HISTORY_ERROR_CODES = {
  history_invalid_conf_uid: 'a conf_uid that cannot name a folder inside chat_history/',
  history_invalid_id: 'a history_uid that is not a plain name (letters, digits, "_" and "-", at most 128)',
  history_not_found: 'no file for this history',
  history_unreadable: 'the file exists but cannot be read',
  history_damaged: 'the file is not a JSON array; it is left untouched',
  history_not_deleted: 'the file exists but cannot be removed',
  history_busy: 'another instance held the file longer than a write may wait (system_config.cluster)',
} as const;

export type HistoryErrorCode = keyof typeof HISTORY_ERROR_CODES;

/** A history problem with a message a person can act on (sent as an `error` frame) and a code a caller can test. */
export class HistoryError extends Error {
  override name = 'HistoryError';

  constructor(
    readonly code: HistoryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Whether `err` is a HistoryError with this code. */
export function isHistoryError(err: unknown, code: HistoryErrorCode): err is HistoryError {
  return err instanceof HistoryError && err.code === code;
}
