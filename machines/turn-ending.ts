import type { ServerFrame } from '../src/protocol/server-frames.js';
import { errorText } from './error-text.js';
import { historyLine, type HistoryLine, type Speaker } from './history-lines.js';

/**
 * How a turn's chain closes for the client, and what of its reply the history records: one home for the turn
 * machine, a session's own conversation (session-conversation.ts) and a group conversation
 * (group-conversation.machine.ts).
 *
 * Every turn that sent `conversation-chain-start` ends with `conversation-chain-end`, whatever failed on the way. A
 * finished turn first sends `force-new-message` (the next reply starts a new chat bubble), then, once its reply is
 * recorded, the chain end; a chain closed from outside (new input replaced the turn, its speaker left) ends the same
 * way.
 */

export const CHAIN_START = { type: 'control', text: 'conversation-chain-start' } as const satisfies ServerFrame;
export const NEW_MESSAGE = { type: 'force-new-message' } as const satisfies ServerFrame;
export const CHAIN_END = { type: 'control', text: 'conversation-chain-end' } as const satisfies ServerFrame;

export const isChainStart = (frame: ServerFrame): boolean => frame.type === 'control' && frame.text === CHAIN_START.text;
export const isChainEnd = (frame: ServerFrame): boolean => frame.type === 'control' && frame.text === CHAIN_END.text;

/** A chain closed for a turn that was stopped before it closed it: as a finished turn closes it. */
export const CLOSING_FRAMES: readonly ServerFrame[] = [NEW_MESSAGE, CHAIN_END];

/** A turn that failed in an unexpected way: the error, then the chain end the client is still owed. */
export function failedTurnFrames(error: unknown): ServerFrame[] {
  return [{ type: 'error', code: 'conversation', message: `Conversation error: ${errorText(error)}` }, CHAIN_END];
}

/** What a reply said (its sentences joined, as the model wrote them) as the speaker's history line; none if nothing. */
export function replyLines(said: string, speaker: Speaker): HistoryLine[] {
  return said ? [historyLine.ai(said, speaker)] : [];
}

/** The answer that lets a turn end its chain: its reply is on disk, or there was nothing to write. */
export const REPLY_RECORDED = { type: 'history.saved', ok: true } as const;
