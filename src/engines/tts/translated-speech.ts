import type { Translator } from '../translate/translator.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

/** Text with something to say: more than spaces and the punctuation upstream ignores before translating. */
export const hasWordsToTranslate = (text: string) => text.replace(/[\s.,!?，。！？'"』」）】]/g, '') !== '';

/**
 * Speech in another language than the chat (upstream's `translate_audio`): the engine speaks the translation while
 * the client shows the original (the display text never passes through here). A failed translation speaks the
 * original, and says so once for this engine, not once per sentence.
 */
export function translatedSpeech(inner: TtsEngine, translator: Translator, warn: (message: string) => void): TtsEngine {
  let warned = false;
  return {
    provider: inner.provider,
    async synthesize(text, signal) {
      let speech = text;
      if (hasWordsToTranslate(text)) {
        try {
          speech = await translator.translate(text, signal);
        } catch (err) {
          if (signal.aborted) throw err;
          if (!warned) {
            warned = true;
            warn(`translation failed, speaking the original text (said once): ${(err as Error).message}`);
          }
        }
      }
      return inner.synthesize(speech, signal);
    },
  };
}
