import type { HistoryListEntry, HistoryMessage } from '../history/history-format.js';
import type { ErrorFrame } from './error-codes.js';
import type { ModelInfo } from './model-info.js';

/** One entry of the `config-files` frame. */
export interface ConfigFileEntry {
  filename: string;
  name: string;
}

/**
 * One sentence of a reply (docs/protocol.md, 'The audio frame'): `audio` is a base64 16-bit PCM WAV, or null (silent).
 */
export interface AudioFrame {
  type: 'audio';
  audio: string | null;
  volumes: number[];
  slice_length: 20;
  display_text: { text: string; name: string; avatar: string } | null;
  actions: { expressions?: Array<number | string> } | null;
  forwarded: boolean;
}

/** An MCP tool call's progress (docs/protocol.md, 'Tool status'); the client keys a chat item by `tool_id`. */
export interface ToolCallStatusFrame {
  type: 'tool_call_status';
  tool_id: string;
  tool_name: string;
  status: 'running' | 'completed' | 'error';
  content: string;
  /** ISO-8601 in UTC (`…Z`), not upstream's malformed `…+00:00Z` (docs/upstream-defects.md, U18). */
  timestamp: string;
  /** The character's name. */
  name: string;
}

/**
 * A JSON array the server keeps encoded (`EncodedJsonArray`, encoded-json.ts), carried in place of the array: a
 * `history-list` of thousands of summaries is written from its bytes (server-frame-encoding.ts).
 */
export interface EncodedJson {
  readonly length: number;
  toJSON(): unknown;
}

/** Server → client frames (docs/protocol.md, 'Server frames'). Field names and literal texts are upstream's. */
export type ServerFrame =
  | { type: 'control'; text: 'start-mic' | 'stop-mic' | 'conversation-chain-start' | 'conversation-chain-end' | 'interrupt' | 'mic-audio-end' }
  | { type: 'full-text'; text: string }
  | { type: 'set-model-and-conf'; model_info: ModelInfo; conf_name: string; conf_uid: string; client_uid?: string }
  | { type: 'config-files'; configs: ConfigFileEntry[] }
  | { type: 'config-switched'; message: string }
  | { type: 'background-files'; files: string[] }
  | { type: 'group-update'; members: string[]; is_owner: boolean }
  | { type: 'group-operation-result'; success: boolean; message: string }
  | { type: 'heartbeat-ack' }
  | { type: 'history-list'; histories: HistoryListEntry[] | EncodedJson }
  | { type: 'history-data'; messages: HistoryMessage[] }
  | { type: 'new-history-created'; history_uid: string }
  | { type: 'history-deleted'; success: boolean; history_uid: string }
  | AudioFrame
  | ToolCallStatusFrame
  | { type: 'user-input-transcription'; text: string }
  | { type: 'backend-synth-complete' }
  | { type: 'force-new-message' }
  /** A group conversation was interrupted by a member (docs/protocol.md, 'Groups'): every member's client stops. */
  | { type: 'interrupt-signal'; text: 'conversation-interrupted' }
  /** `message` is what clients show; `code` (error-codes.ts) is stable and what metrics count. */
  | ErrorFrame;
