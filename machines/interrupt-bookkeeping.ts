import { INTERRUPT_MARKER, rememberInterrupt, verifiedHeardText, type ChatMessage, type SentText } from '../src/agent/chat-memory.js';
import { joinDisplayTexts } from '../src/agent/display-texts.js';
import { historyLine, type HistoryLine, type Speaker } from './history-lines.js';
import { replyLines } from './turn-ending.js';

/**
 * What a reply cut short leaves behind, in one place for a session's own turns and for group conversations:
 * what the user heard of it, what the model remembers, and the lines its history gets.
 *
 * The client reports the text it had shown when it was interrupted; only the sentences the server really sent, in
 * their order, count as heard (docs/upstream-defects.md, U13), and they are remembered as the model wrote them (with their emotion tags).
 */

/** The heard part of a reply: the sent sentences the client's report starts with, as the model wrote them. */
export function heardText(reported: string, spoken: readonly SentText[]): string {
  return verifiedHeardText(reported, spoken);
}

/** Everything that was sent of a reply, as the model wrote it (a reply replaced by new input was played out). */
export function sentText(spoken: readonly SentText[]): string {
  return joinDisplayTexts(spoken.map((s) => s.said));
}

/** The memory after an interrupt: the heard part marked as cut off, then the marker in the provider's role. */
export function interruptedMemory(memory: readonly ChatMessage[], heard: string, method: 'system' | 'user'): ChatMessage[] {
  return rememberInterrupt(memory, heard, method);
}

/** The history lines of an interrupted reply: the heard part as the speaker's (if any), then the marker. */
export function interruptLines(heard: string, speaker: Speaker): HistoryLine[] {
  return [...replyLines(heard, speaker), historyLine.system(INTERRUPT_MARKER)];
}
