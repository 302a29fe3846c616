import type { ModelInfo } from '../config/model-dict.js';
import type { ConfigFileEntry } from '../config/character-files.js';
import type { HistoryMessage } from '../history/history-format.js';
import type { HistorySummary } from '../history/history-store.js';
import { EncodedJsonArray } from './encoded-json.js';
import type { ErrorFrame } from './error-codes.js';

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
  | { type: 'history-list'; histories: HistorySummary[] | EncodedJsonArray }
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
