import type { HistoryListEntry, HistoryMessage } from '../history/history-format.js';
import { EncodedJsonArray } from './encoded-json.js';
import type { ErrorFrame } from './error-codes.js';
import type { ModelInfo } from './model-info.js';

/** One entry of the `config-files` frame. */
export interface ConfigFileEntry {
  filename: string;
  name: string;
}

/** One sentence of a reply (PROTOCOL §4.3). `audio` is a base64 16-bit PCM WAV, or null for a silent payload. */
export interface AudioFrame {
  type: 'audio';
  audio: string | null;
  volumes: number[];
  slice_length: 20;
  display_text: { text: string; name: string; avatar: string } | null;
  actions: { expressions?: Array<number | string> } | null;
  forwarded: boolean;
}

/** An MCP tool call's progress (PROTOCOL §4.1); the client keys a chat item by `tool_id`. */
export interface ToolCallStatusFrame {
  type: 'tool_call_status';
  tool_id: string;
  tool_name: string;
  status: 'running' | 'completed' | 'error';
  content: string;
  /** ISO-8601 in UTC (`…Z`), not upstream's malformed `…+00:00Z` (D32). */
  timestamp: string;
  /** The character's name. */
  name: string;
}

/** Server → client frames (shared PROTOCOL §4). Field names and literal texts are the upstream wire format. */
export type ServerFrame =
  | { type: 'control'; text: 'start-mic' | 'stop-mic' | 'conversation-chain-start' | 'conversation-chain-end' }
  | { type: 'full-text'; text: string }
  | { type: 'set-model-and-conf'; model_info: ModelInfo; conf_name: string; conf_uid: string; client_uid?: string }
  | { type: 'config-files'; configs: ConfigFileEntry[] }
  | { type: 'config-switched'; message: string }
  | { type: 'background-files'; files: string[] }
  | { type: 'group-update'; members: string[]; is_owner: boolean }
  | { type: 'group-operation-result'; success: boolean; message: string }
  | { type: 'heartbeat-ack' }
  | { type: 'history-list'; histories: HistoryListEntry[] | EncodedJsonArray }
  | { type: 'history-data'; messages: HistoryMessage[] }
  | { type: 'new-history-created'; history_uid: string }
  | { type: 'history-deleted'; success: boolean; history_uid: string }
  | AudioFrame
  | ToolCallStatusFrame
  | { type: 'user-input-transcription'; text: string }
  | { type: 'backend-synth-complete' }
  | { type: 'force-new-message' }
  /** A group conversation was interrupted by a member (PROTOCOL §5.4): every member's client stops its playback. */
  | { type: 'interrupt-signal'; text: 'conversation-interrupted' }
  /** `message` is what clients show; `code` (error-codes.ts) is stable and what metrics count. */
  | ErrorFrame;

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
