import { z } from 'zod';
import { provider, type ProviderRegistry } from '../provider-registry.js';
import { builtinOfflineEngine } from './builtin-offline.js';
import { claudeEngine } from './claude.js';
import type { ElizaPersona } from './eliza.js';
import { llamaCppEngine, llamaCppSchema } from './llama-cpp.js';
import { openAiCompatibleEngine } from './openai-compatible.js';
import type { LlmEngine } from '../../../machines/engine-contracts.js';

export interface LlmChoice {
  engine: LlmEngine;
  interruptMethod: 'system' | 'user';
  /** An Ollama model to unload when the server stops (`unload_at_exit`). */
  unloadAtExit?: { baseUrl: string; model: string };
}

export interface LlmContext {
  /** Who the offline talker is (its name, the Live2D model's emotion tags). */
  persona: ElizaPersona;
  /** Where relative model paths start (the folder the server runs in). */
  root: string;
}

const interruptMethod = z.enum(['system', 'user']).optional();

/** Upstream's OpenAI-compatible providers share one block; their default endpoint and interrupt method differ. */
interface OpenAiFamilyDefaults {
  baseUrl?: string;
  apiKey?: string;
  interrupt: 'system' | 'user';
}

const openAiFamilySchema = (defaults: OpenAiFamilyDefaults) =>
  z.looseObject({
    base_url: defaults.baseUrl ? z.string().min(1).default(defaults.baseUrl) : z.string().min(1),
    llm_api_key: z.string().default(defaults.apiKey ?? ''),
    model: z.string().min(1),
    temperature: z.number().min(0).max(2).default(1),
    organization_id: z.string().nullable().optional(),
    project_id: z.string().nullable().optional(),
    interrupt_method: interruptMethod,
  });

type OpenAiFamilyBlock = z.output<ReturnType<typeof openAiFamilySchema>>;

const openAiFamilyChoice = (c: OpenAiFamilyBlock, name: string, defaults: OpenAiFamilyDefaults, extraBody?: Record<string, unknown>): LlmChoice => ({
  engine: openAiCompatibleEngine({
    provider: name,
    baseUrl: c.base_url,
    apiKey: c.llm_api_key,
    model: c.model,
    temperature: c.temperature,
    organizationId: c.organization_id,
    projectId: c.project_id,
    ...(extraBody ? { extraBody } : {}),
  }),
  interruptMethod: c.interrupt_method ?? defaults.interrupt,
});

const openAiFamily = (defaults: OpenAiFamilyDefaults) =>
  provider(openAiFamilySchema(defaults), (c, _context: LlmContext, name) => openAiFamilyChoice(c, name, defaults));

/** Ollama also takes how long the model stays loaded (seconds, or a duration like "5m"; -1 = always) and unloading at exit. */
const ollamaDefaults: OpenAiFamilyDefaults = { baseUrl: 'http://localhost:11434/v1', apiKey: 'default_api_key', interrupt: 'system' };
const ollamaSchema = openAiFamilySchema(ollamaDefaults).extend({
  keep_alive: z.union([z.number(), z.string()]).default(-1),
  unload_at_exit: z.boolean().default(true),
});

const claudeSchema = z.looseObject({
  base_url: z.string().min(1).default('https://api.anthropic.com'),
  llm_api_key: z.string().min(1),
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).default(1024),
  interrupt_method: interruptMethod,
});

const builtinSchema = z.looseObject({
  token_delay_ms: z.number().min(0).default(30),
  interrupt_method: interruptMethod,
});

/** `basic_memory_agent.llm_provider`: the model that writes a character's replies (its block under `llm_configs`). */
export const LLM_PROVIDERS: ProviderRegistry<LlmContext, LlmChoice> = {
  kind: 'LLM',
  key: 'character_config.agent_config.agent_settings.basic_memory_agent.llm_provider',
  blocks: 'character_config.agent_config.llm_configs',
  built: {
    openai_compatible_llm: openAiFamily({ interrupt: 'user' }),
    ollama_llm: provider(ollamaSchema, (c, _context: LlmContext, name) => ({
      ...openAiFamilyChoice(c, name, ollamaDefaults, { keep_alive: c.keep_alive }),
      ...(c.unload_at_exit ? { unloadAtExit: { baseUrl: c.base_url, model: c.model } } : {}),
    })),
    lmstudio_llm: openAiFamily({ baseUrl: 'http://localhost:1234/v1', apiKey: 'default_api_key', interrupt: 'system' }),
    openai_llm: openAiFamily({ baseUrl: 'https://api.openai.com/v1', interrupt: 'system' }),
    gemini_llm: openAiFamily({ baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/', interrupt: 'user' }),
    zhipu_llm: openAiFamily({ baseUrl: 'https://open.bigmodel.cn/api/paas/v4/', interrupt: 'user' }),
    deepseek_llm: openAiFamily({ baseUrl: 'https://api.deepseek.com/v1', interrupt: 'user' }),
    groq_llm: openAiFamily({ baseUrl: 'https://api.groq.com/openai/v1', interrupt: 'system' }),
    mistral_llm: openAiFamily({ baseUrl: 'https://api.mistral.ai/v1', interrupt: 'user' }),
    claude_llm: provider(claudeSchema, (c) => ({
      engine: claudeEngine({ baseUrl: c.base_url, apiKey: c.llm_api_key, model: c.model, maxTokens: c.max_tokens }),
      interruptMethod: c.interrupt_method ?? 'user',
    })),
    llama_cpp_llm: provider(llamaCppSchema, (c, { root }) => ({ engine: llamaCppEngine(c, root), interruptMethod: c.interrupt_method ?? 'system' })),
    // This server's own.
    builtin_offline_llm: provider(builtinSchema, (c, { persona }) => ({
      engine: builtinOfflineEngine(persona, c.token_delay_ms),
      interruptMethod: c.interrupt_method ?? 'system',
    })),
  },
  notBuilt: ['stateless_llm_with_template'],
};
