import type { ModelInfo } from '../config/model-dict.js';
import type { ConfigFileEntry } from '../config/character-files.js';

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
  | { type: 'error'; message: string };
