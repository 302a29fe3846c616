import { EncodedJsonArray } from './encoded-json.js';
import type { ServerFrame } from './server-frames.js';

/** The text around the `histories` of a `history-list` frame (an encoder of the list may make the whole frame). */
export const HISTORY_LIST_FRAME = { head: '{"type":"history-list","histories":', tail: '}' } as const;
const HISTORY_LIST_HEAD = Buffer.from(HISTORY_LIST_FRAME.head);
const HISTORY_LIST_TAIL = Buffer.from(HISTORY_LIST_FRAME.tail);

/** `whole` is exactly the history-list frame around `histories` (a view into it). */
function isHistoryListFrame(whole: Buffer, histories: Buffer): boolean {
  return (
    whole.buffer === histories.buffer &&
    histories.byteOffset === whole.byteOffset + HISTORY_LIST_HEAD.length &&
    whole.length === HISTORY_LIST_HEAD.length + histories.length + HISTORY_LIST_TAIL.length &&
    whole.subarray(0, HISTORY_LIST_HEAD.length).equals(HISTORY_LIST_HEAD) &&
    whole.subarray(whole.length - HISTORY_LIST_TAIL.length).equals(HISTORY_LIST_TAIL)
  );
}

/**
 * A frame as it goes on the wire (a text frame either way: send a Buffer with `binary: false`). A pre-encoded
 * `history-list` is written from its bytes, without decoding or encoding them again, and without copying them when
 * its encoder made the whole frame.
 */
export function encodeServerFrame(frame: ServerFrame): string | Buffer {
  if (frame.type === 'history-list' && frame.histories instanceof EncodedJsonArray) {
    const { bytes, frame: whole } = frame.histories;
    if (whole && isHistoryListFrame(whole, bytes)) return whole;
    return Buffer.concat([HISTORY_LIST_HEAD, bytes, HISTORY_LIST_TAIL]);
  }
  return JSON.stringify(frame);
}
