import type { HistoryMessage } from '../src/history/history-format.js';

/**
 * A message for a history file as a machine writes it: everything but the time. The history writer (src/) stamps
 * each line with the local time as it takes the command, so no machine reads a clock.
 */
export type HistoryLine = Omit<HistoryMessage, 'timestamp'>;

/** Who spoke a reply, as the history shows it (a character's name and avatar). */
export interface Speaker {
  name: string;
  avatar?: string;
}

/** The one place history lines are built, for turns, interrupts and group conversations. */
export const historyLine = {
  human: (content: string, name?: string): HistoryLine => ({ role: 'human', content, ...(name !== undefined ? { name } : {}) }),
  ai: (content: string, speaker: Speaker): HistoryLine => ({
    role: 'ai',
    content,
    name: speaker.name,
    ...(speaker.avatar !== undefined ? { avatar: speaker.avatar } : {}),
  }),
  system: (content: string): HistoryLine => ({ role: 'system', content }),
};
