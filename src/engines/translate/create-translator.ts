import type { CharacterConfig } from '../../config/conf-schema.js';
import { buildProvider, notBuiltMessage, ProviderConfigError } from '../provider-registry.js';
import type { Translator } from './translator.js';
import { TRANSLATOR_PROVIDERS, type TranslatorContext } from './translator-providers.js';

/**
 * The translator `tts_preprocessor_config.translator_config` asks for (translator-providers.ts), or none
 * (`translate_audio` off). Throws ProviderConfigError naming the key when it asks for one that cannot be built.
 */
export function createTranslator(config: CharacterConfig['tts_preprocessor_config']['translator_config'], options: TranslatorContext = {}): Translator | undefined {
  if (!config.translate_audio) return undefined;
  const name = config.translate_provider;
  if (!name) {
    const expected = Object.keys(TRANSLATOR_PROVIDERS.built).map((n) => `"${n}"`).join(' or ');
    throw new ProviderConfigError(TRANSLATOR_PROVIDERS.key, `translate_audio is on but translate_provider is not set (expected ${expected})`, true);
  }
  const built = buildProvider(TRANSLATOR_PROVIDERS, name, (config as Record<string, unknown>)[name], options);
  if (!built) throw new ProviderConfigError(TRANSLATOR_PROVIDERS.key, notBuiltMessage(TRANSLATOR_PROVIDERS, name), true);
  return built;
}
