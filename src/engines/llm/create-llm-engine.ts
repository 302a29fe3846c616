import type { LlmEngine } from '../../../machines/engine-contracts.js';
import { buildProvider, notBuiltMessage } from '../provider-registry.js';
import { LlmError } from './llm-engine.js';
import { LLM_PROVIDERS, type LlmChoice, type LlmContext } from './llm-providers.js';

export type { LlmChoice } from './llm-providers.js';

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
 * Builds the engine for `provider` from its `llm_configs` block (llm-providers.ts); a provider this server lacks is
 * a not-built engine with the warning that says so. A block that does not validate throws ProviderConfigError naming
 * the key.
 */
export function createLlmEngine(provider: string, block: unknown, context: LlmContext): LlmChoice & { warning?: string } {
  const built = buildProvider(LLM_PROVIDERS, provider, block, context);
  if (built) return built;
  const warning = notBuiltMessage(LLM_PROVIDERS, provider);
  return { engine: notBuiltEngine(provider, warning), interruptMethod: 'user', warning };
}
