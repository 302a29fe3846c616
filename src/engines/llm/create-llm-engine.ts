import { z } from 'zod';
import { builtinOfflineEngine } from './builtin-offline.js';
import { claudeEngine } from './claude.js';
import { openAiCompatibleEngine } from './openai-compatible.js';
import { llamaCppEngine, llamaCppSchema } from './llama-cpp.js';
import { LlmError } from './llm-engine.js';
import type { LlmEngine } from '../../../machines/engine-contracts.js';

/** Upstream's OpenAI-compatible providers with their default endpoints and interrupt methods (UPSTREAM-BEHAVIOR §1.4). */
export const OPENAI_FAMILY: Record<string, { baseUrl?: string; apiKey?: string; interrupt: 'system' | 'user' }> = {
  openai_compatible_llm: { interrupt: 'user' },
  ollama_llm: { baseUrl: 'http://localhost:11434/v1', apiKey: 'default_api_key', interrupt: 'system' },
  lmstudio_llm: { baseUrl: 'http://localhost:1234/v1', apiKey: 'default_api_key', interrupt: 'system' },
  openai_llm: { baseUrl: 'https://api.openai.com/v1', interrupt: 'system' },
  gemini_llm: { baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai/', interrupt: 'user' },
  zhipu_llm: { baseUrl: 'https://open.bigmodel.cn/api/paas/v4/', interrupt: 'user' },
  deepseek_llm: { baseUrl: 'https://api.deepseek.com/v1', interrupt: 'user' },
  groq_llm: { baseUrl: 'https://api.groq.com/openai/v1', interrupt: 'system' },
  mistral_llm: { baseUrl: 'https://api.mistral.ai/v1', interrupt: 'user' },
};

export const SUPPORTED_LLM_PROVIDERS = [...Object.keys(OPENAI_FAMILY), 'claude_llm', 'llama_cpp_llm', 'builtin_offline_llm'];

const interruptMethod = z.enum(['system', 'user']).optional();

const openAiFamilySchema = (defaults: (typeof OPENAI_FAMILY)[string]) =>
  z.looseObject({
    base_url: defaults.baseUrl ? z.string().min(1).default(defaults.baseUrl) : z.string().min(1),
    llm_api_key: z.string().default(defaults.apiKey ?? ''),
    model: z.string().min(1),
    temperature: z.number().min(0).max(2).default(1),
    organization_id: z.string().nullable().optional(),
    project_id: z.string().nullable().optional(),
    interrupt_method: interruptMethod,
  });

/** Upstream's Ollama keys: how long the model stays loaded (seconds, or a duration like "5m"; -1 = always) and unloading at exit. */
const ollamaExtras = z.looseObject({
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

export interface LlmChoice {
  engine: LlmEngine;
  interruptMethod: 'system' | 'user';
  /** An Ollama model to unload when the server stops (`unload_at_exit`). */
  unloadAtExit?: { baseUrl: string; model: string };
}

/** Thrown for a provider block that does not validate; `path` is relative to the provider block. */
export class LlmConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function parse<S extends z.ZodType>(schema: S, block: unknown): z.output<S> {
  const result = schema.safeParse(block ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
  throw new LlmConfigError(issue.path.map(String).join('.'), missing ? `required, expected ${issue.expected}` : issue.message);
}

/**
 * A provider or agent the configuration selects that this server does not have: every turn answers with a
 * `not_built` error naming the key, so the user knows what to change (never another engine answering instead).
 */
export function notBuiltEngine(provider: string, message: string): LlmEngine {
  return {
    provider,
    toolStyle: 'none',
    stream: () => Promise.reject(new LlmError(message, 'not_built')),
  };
}

/**
 * Builds the engine for `provider` from its `llm_configs` block; undefined for a provider this server lacks.
 * `root` is where relative model paths start (the folder the server runs in).
 */
export function createLlmEngine(
  provider: string,
  block: unknown,
  persona: { name: string; emotionKeys: string[] },
  root = process.cwd(),
): LlmChoice | undefined {
  const family = OPENAI_FAMILY[provider];
  if (family) {
    const c = parse(openAiFamilySchema(family), block);
    const ollama = provider === 'ollama_llm' ? parse(ollamaExtras, block) : undefined;
    return {
      engine: openAiCompatibleEngine({
        provider,
        baseUrl: c.base_url,
        apiKey: c.llm_api_key,
        model: c.model,
        temperature: c.temperature,
        organizationId: c.organization_id,
        projectId: c.project_id,
        ...(ollama ? { extraBody: { keep_alive: ollama.keep_alive } } : {}),
      }),
      interruptMethod: c.interrupt_method ?? family.interrupt,
      ...(ollama?.unload_at_exit ? { unloadAtExit: { baseUrl: c.base_url, model: c.model } } : {}),
    };
  }
  if (provider === 'claude_llm') {
    const c = parse(claudeSchema, block);
    return {
      engine: claudeEngine({ baseUrl: c.base_url, apiKey: c.llm_api_key, model: c.model, maxTokens: c.max_tokens }),
      interruptMethod: c.interrupt_method ?? 'user',
    };
  }
  if (provider === 'llama_cpp_llm') {
    const c = parse(llamaCppSchema, block);
    return { engine: llamaCppEngine(c, root), interruptMethod: c.interrupt_method ?? 'system' };
  }
  if (provider === 'builtin_offline_llm') {
    const c = parse(builtinSchema, block);
    return { engine: builtinOfflineEngine(persona, c.token_delay_ms), interruptMethod: c.interrupt_method ?? 'system' };
  }
  return undefined;
}
