import type { CharacterConfig } from '../config/conf-schema.js';
import { createAsrEngine } from './asr/create-asr-engine.js';
import type { AsrChoice } from './asr/asr-providers.js';
import { createAgentEngine, type AgentChoice } from './llm/agent-providers.js';
import type { ElizaPersona } from './llm/eliza.js';
import { blockOf } from './provider-registry.js';
import { createTranslator } from './translate/create-translator.js';
import type { Translator } from './translate/translator.js';
import { createTtsEngine } from './tts/create-tts-engine.js';
import { TTS_PROVIDERS, type TtsChoice } from './tts/tts-providers.js';

/** What a character config chooses, built; with what the log should say once about it. */
export interface CharacterEngines {
  llm: AgentChoice;
  tts: TtsChoice;
  /** Present when `translate_audio` is on. */
  translator?: Translator;
  asr: AsrChoice;
  /** Why the character cannot answer, speak or listen, where it cannot. */
  warnings: string[];
  /** What serves an upstream engine name here. */
  notes: string[];
}

export interface EngineSettings {
  persona: ElizaPersona;
  /** Where relative model paths start (the folder the server runs in). */
  root: string;
  /** Bound on one synthesis or translation request (a backstop behind the turn's deadline). */
  timeoutMs: number;
}

/**
 * Builds each engine the character chooses from its provider table (provider-registry.ts). A provider this server
 * does not build is a warning and an engine that says so; a block that does not validate throws ProviderConfigError
 * naming the key and what is expected.
 */
export function chooseEngines(config: CharacterConfig, { persona, root, timeoutMs }: EngineSettings): CharacterEngines {
  const llm = createAgentEngine(config.agent_config, { persona, root });
  const ttsModel = config.tts_config.tts_model;
  const tts = createTtsEngine(ttsModel, blockOf(TTS_PROVIDERS, ttsModel, config.tts_config), { timeoutMs }, root);
  const translator = createTranslator(config.tts_preprocessor_config.translator_config, { timeoutMs });
  const asrModel = config.asr_config.asr_model;
  const asr = createAsrEngine(asrModel, config.asr_config[asrModel], root);
  return {
    llm,
    tts,
    ...(translator ? { translator } : {}),
    asr,
    warnings: [llm.warning, tts.warning, asr.warning].filter((w): w is string => !!w),
    notes: [tts.note, asr.note].filter((n): n is string => !!n),
  };
}
