import { buildProvider, notBuiltMessage } from '../provider-registry.js';
import { ASR_PROVIDERS, type AsrChoice } from './asr-providers.js';

export type { AsrChoice } from './asr-providers.js';

/**
 * Builds the recogniser named by `asr_model` from its block (asr-providers.ts); one this server does not build leaves
 * the character without ears, saying why. `root` is the folder relative model paths start from (upstream: the working
 * directory). A block that does not validate throws ProviderConfigError naming the key.
 */
export function createAsrEngine(model: string, block: unknown, root = process.cwd()): AsrChoice {
  return buildProvider(ASR_PROVIDERS, model, block, { root }) ?? { warning: notBuiltMessage(ASR_PROVIDERS, model) };
}
