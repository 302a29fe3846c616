import { buildProvider, notBuiltMessage } from '../provider-registry.js';
import type { HttpEngineOptions } from './http-synthesis.js';
import { unavailableEngine } from './tts-engine.js';
import { TTS_PROVIDERS, type TtsChoice } from './tts-providers.js';

export type { TtsChoice } from './tts-providers.js';

/**
 * Builds the engine named by `tts_model` from its block (tts-providers.ts). A voice this server does not build never
 * fails a character: its replies are shown without speech, and each says why. A block that does not validate throws
 * ProviderConfigError naming the key.
 */
export function createTtsEngine(model: string, block: unknown, options: HttpEngineOptions = {}, root = process.cwd()): TtsChoice {
  const built = buildProvider(TTS_PROVIDERS, model, block, { http: options, root });
  if (built) return built;
  const warning = notBuiltMessage(TTS_PROVIDERS, model);
  return { engine: unavailableEngine(model, warning), warning };
}
