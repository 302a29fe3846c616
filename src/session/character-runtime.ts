import path from 'node:path';
import type { AppConfig, Character } from '../config/app-config.js';
import { ConfigError } from '../config/config-error.js';
import { buildSystemPrompt, readPromptFile } from '../agent/system-prompt.js';
import { asrAwaitingModels, llmAwaitingModels, ttsAwaitingModels } from '../engines/awaiting-models.js';
import { hasModelFiles, type ModelFiles } from '../engines/model-files.js';
import type { ModelBoard } from '../downloads/model-board.js';
import type { AsrEngine, LlmEngine, TtsEngine } from '../../machines/engine-contracts.js';
import { chooseEngines } from '../engines/character-engines.js';
import { ProviderConfigError } from '../engines/provider-registry.js';
import { createTtsEngine } from '../engines/tts/create-tts-engine.js';
import { translatedSpeech } from '../engines/tts/translated-speech.js';
import type { OllamaModelsInUse } from '../engines/llm/ollama-unload.js';
import type { Logger } from '../observability/logger.js';
import { findProgram } from '../engines/find-program.js';
import { loadMcpServers } from '../mcp/mcp-servers-file.js';
import type { McpSettings, SessionCharacter } from '../../machines/session-character.js';
import type { McpServerSpec } from '../mcp/mcp-server-spec.js';
import type { ToolListCache } from '../mcp/tool-list-cache.js';

const FALLBACK_PROACTIVE_PROMPT = 'Please say something.';

/** Launchers that upstream checks for on PATH before it tries a server. */
const LAUNCHERS = new Set(['npx', 'uvx', 'node', 'uv', 'python', 'python3']);

/** The character's MCP servers: those of mcp_enabled_servers that mcp_servers.json defines and that can be launched. */
async function mcpSettings(
  app: AppConfig,
  enabled: readonly string[],
  where: { dirs: string[]; configName: string },
  toolLists: ToolListCache,
  warnings: string[],
): Promise<McpSettings | undefined> {
  const all = await loadMcpServers(path.join(app.paths.root, 'mcp_servers.json'));
  const servers: Record<string, McpServerSpec> = {};
  for (const name of enabled) {
    const spec = all[name];
    if (!spec) {
      warnings.push(`mcp_enabled_servers lists "${name}", which mcp_servers.json does not define; it is left out`);
    } else if (LAUNCHERS.has(spec.command) && !findProgram(spec.command)) {
      warnings.push(`MCP server "${name}" needs "${spec.command}", which is not on PATH; it is left out`);
    } else servers[name] = spec;
  }
  if (Object.keys(servers).length === 0) return undefined;
  const stem = app.system.tool_prompts.mcp_prompt ?? 'mcp_prompt';
  return { servers, promptTemplate: await readPromptFile(stem, 'mcp_prompt', where), toolLists };
}

/**
 * Engines whose model files the first start is still downloading answer with where the download stands
 * (awaiting-models.ts) until the files are there; the others are used as they are.
 */
function awaitingModels(board: ModelBoard | undefined, root: string, espeakBlock: unknown) {
  const covered = (engine: unknown): engine is ModelFiles => !!board && hasModelFiles(engine) && engine.modelFiles.some((f) => board.covering(f));
  const offlineVoice = board ? createTtsEngine('espeak_tts', espeakBlock, {}, root).engine : undefined;
  return {
    llm: (engine: LlmEngine) => (covered(engine) ? llmAwaitingModels(engine, board!) : engine),
    tts: (engine: TtsEngine) => (covered(engine) ? ttsAwaitingModels(engine, board!, offlineVoice) : engine),
    asr: (engine: AsrEngine) => (covered(engine) ? asrAwaitingModels(engine, board!) : engine),
  };
}

/** Server-wide things a character's engines report to (all optional: tests build runtimes without them). */
export interface RuntimeServices {
  /** Models the first start is downloading (first-start.ts). */
  models?: ModelBoard;
  /** Where an engine logs what it finds out while running (a failed translation). */
  logger?: Logger;
  /** Ollama models to unload when the server stops. */
  ollamaModels?: OllamaModelsInUse;
}

/** Throws ConfigError naming the character file and the key when a selected provider's block is invalid. */
export async function buildCharacterRuntime(
  app: AppConfig,
  character: Character,
  toolLists?: ToolListCache,
  services: RuntimeServices = {},
): Promise<SessionCharacter> {
  const { config, modelInfo, file } = character;
  const emotionKeys = Object.keys(modelInfo.emotionMap);
  const persona = { name: config.character_name, emotionKeys };
  const agentSettings = config.agent_config.agent_settings.basic_memory_agent;
  const agentChoice = config.agent_config.conversation_agent_choice;

  // The TTS pipeline's `synthesis` deadline (the same setting) is the contract: it ends the wait, says so once and
  // makes the rest of the reply text-only. The engines' own bound is only a backstop behind it, so a request can
  // never outlive the turn's wait by much, whoever owns it.
  const timeoutMs = app.system.tts_timeout_seconds * 1000 + 1000;
  let engines;
  try {
    engines = chooseEngines(config, { persona, root: app.paths.root, timeoutMs });
  } catch (err) {
    throw err instanceof ProviderConfigError ? new ConfigError(file, err.path, err.problem) : err;
  }
  const { llm, tts, translator, asr, warnings, notes } = engines;
  if (llm.unloadAtExit) services.ollamaModels?.add(llm.unloadAtExit);

  const logger = services.logger;
  const awaiting = awaitingModels(services.models, app.paths.root, config.tts_config.espeak_tts);
  const ttsEngine = translator
    ? translatedSpeech(awaiting.tts(tts.engine), translator, (message) => logger?.warn(`${file}: ${translator.provider} ${message}`))
    : awaiting.tts(tts.engine);

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

  const groupStem = app.system.tool_prompts.group_conversation_prompt;
  const groupPrompt = groupStem ? await readPromptFile(groupStem, 'group_conversation_prompt', where) : '';

  let mcp: McpSettings | undefined;
  if (agentChoice !== 'letta_agent' && agentSettings?.use_mcpp && agentSettings.mcp_enabled_servers.length > 0 && toolLists) {
    if (llm.engine.toolStyle === 'none') warnings.push(`use_mcpp is on, but ${llm.engine.provider} cannot call tools; MCP is off for this character`);
    else mcp = await mcpSettings(app, agentSettings.mcp_enabled_servers, where, toolLists, warnings);
  }

  return {
    ...character,
    runtime: {
      systemPrompt,
      llm: awaiting.llm(llm.engine),
      interruptMethod: llm.interruptMethod,
      tts: ttsEngine,
      asr: asr.engine && awaiting.asr(asr.engine),
      asrUnavailable: asr.warning,
      proactivePrompt,
      groupPrompt,
      fasterFirstResponse: llm.fasterFirstResponse,
      showEmotionTags: app.system.show_emotion_tags,
      ...(mcp ? { mcp } : {}),
      warnings,
      notes,
      modelFiles: [llm.engine, tts.engine, asr.engine].flatMap((e) => (hasModelFiles(e) ? e.modelFiles : [])),
    },
  };
}
