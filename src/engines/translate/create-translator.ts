import type { CharacterConfig } from '../../config/conf-schema.js';
import { deeplxTranslator } from './deeplx.js';
import { tencentTranslator } from './tencent.js';
import type { Translator } from './translator.js';

/** The translator `tts_preprocessor_config.translator_config` asks for, or none (`translate_audio` off). */
export function createTranslator(
  config: CharacterConfig['tts_preprocessor_config']['translator_config'],
  options: { timeoutMs?: number } = {},
): Translator | undefined {
  if (!config.translate_audio) return undefined;
  if (config.translate_provider === 'deeplx') return deeplxTranslator(config.deeplx, options);
  if (config.translate_provider === 'tencent') return tencentTranslator(config.tencent, options);
  throw new Error('translate_audio is on but translate_provider is not set (expected "deeplx" or "tencent")');
}
