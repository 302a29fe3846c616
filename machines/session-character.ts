import type { CharacterConfig } from '../src/config/conf-schema.js';
import type { McpServerSpec } from '../src/mcp/mcp-server-spec.js';
import type { ModelInfo } from '../src/protocol/model-info.js';
import type { AsrEngine, LlmEngine, TtsEngine } from './engine-contracts.js';
import type { ToolListStore } from './toolbox.machine.js';

/** The engines and prompts of a character, built when a session starts or switches to it (never shared state). */
export interface CharacterRuntime {
  systemPrompt: string;
  llm: LlmEngine;
  interruptMethod: 'system' | 'user';
  tts: TtsEngine;
  asr?: AsrEngine;
  /** Why voice input cannot be understood (sent as the error of a voice turn). */
  asrUnavailable?: string;
  proactivePrompt: string;
  /** group_conversation_prompt, with `{human_name}` and `{other_ais}` still to fill in ('' for none). */
  groupPrompt: string;
  fasterFirstResponse: boolean;
  /** system_config.show_emotion_tags: keep `[emotion]` tags in what the client shows. */
  showEmotionTags: boolean;
  /** MCP tools (use_mcpp with enabled servers, and a model that can call tools). */
  mcp?: McpSettings;
  /** Things the user should know once (no speech engine, unsupported provider …): logged where it is built. */
  warnings: string[];
  /** What serves an upstream engine name here (faster_whisper → sherpa-onnx Whisper …): logged once, as information. */
  notes?: string[];
  /** The model files its engines run (GGUF, sherpa-onnx): what the first start downloads when a manifest has them. */
  modelFiles?: string[];
}

export interface McpSettings {
  servers: Record<string, McpServerSpec>;
  /** mcp_prompt: how a model without native tools is told to call them. */
  promptTemplate: string;
  /** Tool lists known from earlier discoveries (shared by all sessions). */
  toolLists: ToolListStore;
}

/**
 * The character a session talks as: the contract of its `initSession` and `loadCharacter` slots, which
 * src/session/character-runtime.ts builds from a character file (the config, its Live2D model, the engines).
 */
export interface SessionCharacter {
  /** The `filename` that `fetch-configs` lists for it (the base config's own file name for conf.yaml). */
  file: string;
  config: CharacterConfig;
  modelInfo: ModelInfo;
  runtime: CharacterRuntime;
}
