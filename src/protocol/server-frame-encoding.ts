import { EncodedJsonArray } from './encoded-json.js';
import type { ServerFrame } from './server-frames.js';

const HISTORY_LIST_HEAD = Buffer.from('{"type":"history-list","histories":');
const HISTORY_LIST_TAIL = Buffer.from('}');

/** Below this, a pre-encoded list is written as one frame (copied once); from it, as fragments of its parts. */
export const FRAGMENTED_FRAME_BYTES = 64 * 1024;

/**
 * A frame as it goes on the wire: a text frame, also when it comes as a Buffer (send with `binary: false`). A
 * pre-encoded `history-list` is written from its bytes, without decoding or encoding them again; a big one (megabytes
 * at 10,000 histories) comes as a list of Buffers, the fragments of one message (RFC 6455 §5.4), so that its parts are
 * not copied into one Buffer per send. Browsers and ws put fragments together before the message is delivered.
 */
export function encodeServerFrame(frame: ServerFrame): string | Buffer | Buffer[] {
  if (frame.type === 'history-list' && frame.histories instanceof EncodedJsonArray) {
    const parts = [HISTORY_LIST_HEAD, ...frame.histories.parts, HISTORY_LIST_TAIL];
    return frame.histories.byteLength < FRAGMENTED_FRAME_BYTES ? Buffer.concat(parts) : parts;
  }
  return JSON.stringify(frame);
}
