import { flushText, initialSplitter, pushText } from '../agent/sentence-splitter.js';

const OPTIONS = { fasterFirstResponse: false };

/**
 * A `/tts-ws` text as the sentences it is spoken in, with the rules replies are spoken with (not inside decimals,
 * URLs or abbreviations), each trimmed; empty ones are left out. Text inside `<think>` tags is spoken too: here the
 * text is the user's, not a model's.
 */
export function speechSentences(text: string): string[] {
  const pushed = pushText(initialSplitter(), text, OPTIONS);
  const units = [...pushed.units, ...flushText(pushed.state, OPTIONS).units];
  return units.flatMap((unit) => (unit.kind === 'sentence' && unit.text.trim() !== '' ? [unit.text.trim()] : []));
}
