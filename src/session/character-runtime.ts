import { z } from 'zod';
import type { AppConfig, Character } from '../config/app-config.js';
import { ConfigError } from '../config/config-error.js';
import { buildSystemPrompt, readPromptFile } from '../agent/system-prompt.js';
import { createAsrEngine } from '../engines/asr/create-asr-engine.js';
import type { AsrEngine } from '../engines/asr/asr-engine.js';
import { createLlmEngine, LlmConfigError, SUPPORTED_LLM_PROVIDERS } from '../engines/llm/create-llm-engine.js';
import type { LlmEngine } from '../engines/llm/llm-engine.js';
import { createTtsEngine } from '../engines/tts/create-tts-engine.js';
import type { TtsEngine } from '../engines/tts/tts-engine.js';

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
  fasterFirstResponse: boolean;
  /** Things the user should know once (no speech engine, unsupported provider …). */
  warnings: string[];
}

export interface SessionCharacter extends Character {
  runtime: CharacterRuntime;
}

const FALLBACK_PROACTIVE_PROMPT = 'Please say something.';

function blockError(file: string, prefix: string, err: unknown): ConfigError {
  if (err instanceof LlmConfigError) return new ConfigError(file, `${prefix}${err.path ? `.${err.path}` : ''}`, err.message);
  if (err instanceof z.ZodError) {
    const issue = err.issues[0]!;
    return new ConfigError(file, [prefix, ...issue.path.map(String)].join('.'), issue.message.replace(/^Invalid input: /, ''));
  }
  return new ConfigError(file, prefix, (err as Error).message);
}

/** Throws ConfigError naming the character file and the key when a selected provider's block is invalid. */
export async function buildCharacterRuntime(app: AppConfig, character: Character): Promise<SessionCharacter> {
  const { config, modelInfo, file } = character;
  const warnings: string[] = [];
  const agentPath = 'character_config.agent_config';
  const emotionKeys = Object.keys(modelInfo.emotionMap);
  const persona = { name: config.character_name ?? config.conf_name, emotionKeys };

  const agentSettings = config.agent_config.agent_settings.basic_memory_agent;
  let provider = agentSettings?.llm_provider ?? 'builtin_offline_llm';
  if (config.agent_config.conversation_agent_choice !== 'basic_memory_agent') {
    warnings.push(`${agentPath}.conversation_agent_choice "${config.agent_config.conversation_agent_choice}" is not supported yet; using basic_memory_agent with builtin_offline_llm`);
    provider = 'builtin_offline_llm';
  }
  const llmBlockPath = (p: string) => `${agentPath}.llm_configs.${p}`;
  let llm;
  try {
    llm = createLlmEngine(provider, config.agent_config.llm_configs[provider], persona);
  } catch (err) {
    throw blockError(file, llmBlockPath(provider), err);
  }
  if (!llm) {
    warnings.push(`llm_provider "${provider}" is not supported yet (supported: ${SUPPORTED_LLM_PROVIDERS.join(', ')}); using builtin_offline_llm`);
    llm = createLlmEngine('builtin_offline_llm', config.agent_config.llm_configs.builtin_offline_llm, persona)!;
  }

  const ttsModel = config.tts_config.tts_model;
  let tts;
  try {
    tts = createTtsEngine(ttsModel, config.tts_config[ttsModel]);
  } catch (err) {
    throw blockError(file, `character_config.tts_config.${ttsModel}`, err);
  }
  if (tts.warning) warnings.push(tts.warning);

  const asrModel = config.asr_config.asr_model;
  let asr;
  try {
    asr = createAsrEngine(asrModel, config.asr_config[asrModel]);
  } catch (err) {
    throw blockError(file, `character_config.asr_config.${asrModel}`, err);
  }
  if (asr.warning) warnings.push(asr.warning);

  const where = { dirs: app.paths.promptDirs, configName: file };
  const systemPrompt = await buildSystemPrompt({
    persona: config.persona_prompt,
    toolPrompts: app.system.tool_prompts,
    emotionMap: modelInfo.emotionMap,
    interruptMethod: llm.interruptMethod,
    where,
  });
  const proactiveStem = app.system.tool_prompts.proactive_speak_prompt;
  const proactivePrompt = proactiveStem
    ? (await readPromptFile(proactiveStem, 'proactive_speak_prompt', where)).trim() || FALLBACK_PROACTIVE_PROMPT
    : FALLBACK_PROACTIVE_PROMPT;

  return {
    ...character,
    runtime: {
      systemPrompt,
      llm: llm.engine,
      interruptMethod: llm.interruptMethod,
      tts: tts.engine,
      asr: asr.engine,
      asrUnavailable: asr.warning,
      proactivePrompt,
      fasterFirstResponse: agentSettings?.faster_first_response ?? true,
      warnings,
    },
  };
}
