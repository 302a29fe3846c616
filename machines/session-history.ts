import type { HistoryLine } from './history-lines.js';
import type { HistoryCommand, SessionContext } from './session-contract.js';

/** An append to the session's current history; null while nothing is recorded (no history chosen, or no lines). */
export function historyAppend(context: SessionContext, messages: HistoryLine[]): HistoryCommand | null {
  if (!context.historyUid || !context.character || messages.length === 0) return null;
  return { type: 'history.append', confUid: context.character.config.conf_uid, historyUid: context.historyUid, messages };
}

/** The active character, as its replies are signed in the history. */
export function speakerOf(context: SessionContext): { name: string; avatar: string } {
  const { config } = context.character!;
  return { name: config.character_name, avatar: config.avatar };
}
