import { basicMemoryAgentSchema, type CharacterConfig } from '../../config/conf-schema.js';
import { buildProvider, notBuiltMessage, provider, type ProviderRegistry } from '../provider-registry.js';
import { createLlmEngine, notBuiltEngine } from './create-llm-engine.js';
import { lettaEngine, lettaSchema } from './letta.js';
import type { LlmChoice, LlmContext } from './llm-providers.js';

export interface AgentChoice extends LlmChoice {
  fasterFirstResponse: boolean;
  /** Why the character cannot answer, when it cannot (logged once). */
  warning?: string;
}

export interface AgentContext extends LlmContext {
  /** `agent_config.llm_configs`: the blocks basic_memory_agent's `llm_provider` is read from. */
  llmConfigs: Readonly<Record<string, unknown>>;
}

/** Without a basic_memory_agent block, the character talks through the offline talker. */
const basicMemorySchema = basicMemoryAgentSchema.extend({ llm_provider: basicMemoryAgentSchema.shape.llm_provider.default('builtin_offline_llm') });

/** `agent_config.conversation_agent_choice`: what keeps the conversation (its block under `agent_settings`). */
export const AGENT_PROVIDERS: ProviderRegistry<AgentContext, AgentChoice> = {
  kind: 'agent',
  key: 'character_config.agent_config.conversation_agent_choice',
  blocks: 'character_config.agent_config.agent_settings',
  built: {
    // This server keeps the memory; the model is chosen by `llm_provider` (llm-providers.ts).
    basic_memory_agent: provider(
      basicMemorySchema,
      (c, context) => ({ ...createLlmEngine(c.llm_provider, context.llmConfigs[c.llm_provider], context), fasterFirstResponse: c.faster_first_response }),
      { hint: 'with an llm_provider' },
    ),
    // A Letta server keeps the agent and its memory.
    letta_agent: provider(lettaSchema, (c) => ({
      engine: lettaEngine({ baseUrl: `http://${c.host}:${c.port}`, agentId: c.id, apiKey: c.api_key }),
      interruptMethod: 'user',
      fasterFirstResponse: c.faster_first_response,
    })),
  },
  notBuilt: ['mem0_agent', 'hume_ai_agent'],
};

/**
 * The engine that answers for a character: its agent's, built from its block (basic_memory_agent: its llm_provider's).
 * An agent or model this server does not build answers every turn with a `not_built` error naming the key.
 * Throws ProviderConfigError naming the key of a block that does not validate.
 */
export function createAgentEngine(agentConfig: CharacterConfig['agent_config'], context: LlmContext): AgentChoice {
  const choice = agentConfig.conversation_agent_choice;
  const block = (agentConfig.agent_settings as Record<string, unknown>)[choice];
  const built = buildProvider(AGENT_PROVIDERS, choice, block, { ...context, llmConfigs: agentConfig.llm_configs });
  if (built) return built;
  const warning = notBuiltMessage(AGENT_PROVIDERS, choice);
  const fasterFirstResponse = agentConfig.agent_settings.basic_memory_agent?.faster_first_response ?? true;
  return { engine: notBuiltEngine(choice, warning), interruptMethod: 'user', fasterFirstResponse, warning };
}
