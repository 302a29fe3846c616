import { provider, type ProviderRegistry } from '../provider-registry.js';
import { deeplxSchema, deeplxTranslator } from './deeplx.js';
import { tencentSchema, tencentTranslator } from './tencent.js';
import type { Translator } from './translator.js';

export interface TranslatorContext {
  /** Bound on one translation (a backstop behind the turn's synthesis deadline). */
  timeoutMs?: number;
}

/** `translator_config.translate_provider`: what translates a reply before it is spoken (`translate_audio: true`). */
export const TRANSLATOR_PROVIDERS: ProviderRegistry<TranslatorContext, Translator> = {
  kind: 'translation',
  key: 'character_config.tts_preprocessor_config.translator_config.translate_provider',
  blocks: 'character_config.tts_preprocessor_config.translator_config',
  built: {
    deeplx: provider(deeplxSchema, deeplxTranslator),
    tencent: provider(tencentSchema, tencentTranslator),
  },
  notBuilt: [],
};
