import { joinDisplayTexts } from './display-texts.js';
/**
 * A session's agent memory (docs/protocol.md, 'Memory'): OpenAI-style messages, owned by one session actor and
 * never shared (docs/upstream-defects.md, U1). Pure functions: the session keeps the array in its context.
 */
export type ChatRole = 'user' | 'assistant' | 'system';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export const INTERRUPT_MARKER = '[Interrupted by user]';

/** Upstream's rules: empty assistant text is not stored, nor an exact repeat of the last entry. */
export function addMessage(memory: readonly ChatMessage[], message: ChatMessage): ChatMessage[] {
  if (message.role === 'assistant' && message.content.trim() === '') return [...memory];
  const last = memory[memory.length - 1];
  if (last && last.role === message.role && last.content === message.content) return [...memory];
  return [...memory, message];
}

/**
 * What the model should remember of an interrupted reply: the part the user heard, marked as cut off, then the
 * interrupt marker (as `system` or `user` according to the provider's `interrupt_method`).
 */
export function rememberInterrupt(
  memory: readonly ChatMessage[],
  heard: string,
  method: 'system' | 'user',
): ChatMessage[] {
  let next = [...memory];
  if (heard.trim()) next = addMessage(next, { role: 'assistant', content: `${heard.trim()}...` });
  return addMessage(next, { role: method, content: INTERRUPT_MARKER });
}

/** A sentence of a reply as the client was shown it, and as the model wrote it (with its `[emotion]` tags). */
export interface SentText {
  shown: string;
  said: string;
}

/**
 * The heard text a client reports is only trusted as far as it matches what this turn actually sent
 * (docs/upstream-defects.md, U13: upstream stored any client-supplied text as the assistant's words). The client joins
 * the display texts of the sentences whose playback started, with no separator; we return those sentences as the model
 * wrote them (tags included), as the history stores a reply.
 */
export function verifiedHeardText(reported: string, sent: readonly (string | SentText)[]): string {
  let consumed = 0;
  const heard: string[] = [];
  for (const entry of sent) {
    const { shown, said } = typeof entry === 'string' ? { shown: entry, said: entry } : entry;
    // The whitespace a display text ends with may or may not be in the report (a client may trim what it shows).
    const word = shown.trimEnd();
    if (!reported.startsWith(word, consumed)) break;
    consumed += word.length;
    while (consumed < reported.length && /\s/.test(reported[consumed]!)) consumed++;
    heard.push(said);
  }
  return joinDisplayTexts(heard);
}
