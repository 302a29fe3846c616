import type { CharacterConfig } from '../config/conf-schema.js';
import { extractExpressions, stripEmotionTags } from './expressions.js';
import type { TextUnit } from './sentence-splitter.js';
import { isSpeakable, ttsText } from './tts-filters.js';

/** One unit of a reply as the client shows it and the TTS speaks it. */
export interface SentenceOutput {
  /**
   * `display_text.text`: without `[emotion]` tags (unless shown on purpose), with the whitespace after the sentence
   * (the client joins display texts as they are); a thought shows as `(`, its sentences, `)`.
   */
  display: string;
  /** The unit as the model wrote it, tags included: what history and memory keep. */
  said: string;
  /** What is spoken; '' for a silent payload. */
  speech: string;
  expressions: Array<number | string>;
}

export function sentenceOutput(
  unit: TextUnit,
  emotionMap: Record<string, number | string>,
  preprocessor: CharacterConfig['tts_preprocessor_config'],
  showEmotionTags = false,
): SentenceOutput {
  if (unit.kind === 'think-start') return { display: '(', said: '(', speech: '', expressions: [] };
  if (unit.kind === 'think-end') return { display: ')', said: ')', speech: '', expressions: [] };
  if (unit.think) return { display: unit.text, said: unit.text, speech: '', expressions: [] };
  const speech = ttsText(unit.text, preprocessor).trim();
  return {
    display: showEmotionTags ? unit.text : stripEmotionTags(unit.text, emotionMap),
    said: unit.text,
    speech: isSpeakable(speech) ? speech : '',
    expressions: extractExpressions(unit.text, emotionMap),
  };
}
