import type { CharacterConfig } from '../config/conf-schema.js';

type PreprocessorConfig = CharacterConfig['tts_preprocessor_config'];

/** Removes everything between `open` and `close`, nesting-aware; stray closers are dropped too. */
function removeEnclosed(text: string, open: string, close: string): string {
  // Most sentences have nothing to remove: they are returned as they are, without walking them.
  if (!text.includes(open) && !text.includes(close)) return text;
  let depth = 0;
  let out = '';
  for (const ch of text) {
    if (ch === open) depth++;
    else if (ch === close) depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out;
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * The text a sentence is spoken as (docs/protocol.md, 'Reply text'): `*actions*`, `[emotion]` tags,
 * `(asides)` and `<markup>` are shown but not spoken; emoji and symbols are dropped. Each step only when enabled.
 */
export function ttsText(text: string, config: PreprocessorConfig): string {
  let out = text;
  if (config.ignore_asterisks) out = collapse(out.includes('*') ? out.replace(/\*+[^*]*\*+/g, ' ') : out);
  if (config.ignore_brackets) out = collapse(removeEnclosed(out, '[', ']'));
  if (config.ignore_parentheses) out = collapse(removeEnclosed(out, '(', ')'));
  if (config.ignore_angle_brackets) out = collapse(removeEnclosed(out, '<', '>'));
  if (config.remove_special_char) out = collapse(out.normalize('NFKC').replace(/[^\p{L}\p{N}\p{P}\s]/gu, ''));
  return out;
}

/** Nothing left to say once whitespace and bare punctuation are removed: the sentence gets a silent payload. */
export function isSpeakable(text: string): boolean {
  return text.replace(/[\s.,!?，。！？'"』」）】]/g, '').length > 0;
}
