import type { CharacterConfig } from '../config/conf-schema.js';
import { extractExpressions } from './expressions.js';
import type { TextUnit } from './sentence-splitter.js';
import { isSpeakable, ttsText } from './tts-filters.js';

/** One unit of a reply as the client shows it and the TTS speaks it. */
export interface SentenceOutput {
  /**
   * `display_text.text`: keeps `[emotion]` tags and the whitespace after the sentence (the client joins display
   * texts as they are); a thought shows as `(`, its sentences, `)`.
   */
  display: string;
  /** What is spoken; '' for a silent payload. */
  speech: string;
  expressions: Array<number | string>;
}

export function sentenceOutput(
  unit: TextUnit,
  emotionMap: Record<string, number | string>,
  preprocessor: CharacterConfig['tts_preprocessor_config'],
): SentenceOutput {
  if (unit.kind === 'think-start') return { display: '(', speech: '', expressions: [] };
  if (unit.kind === 'think-end') return { display: ')', speech: '', expressions: [] };
  if (unit.think) return { display: unit.text, speech: '', expressions: [] };
  const speech = ttsText(unit.text, preprocessor).trim();
  return {
    display: unit.text,
    speech: isSpeakable(speech) ? speech : '',
    expressions: extractExpressions(unit.text, emotionMap),
  };
}
