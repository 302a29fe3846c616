import { fromCallback, type EventObject } from 'xstate';
import type { RequestResult } from '../../machines/request-queue.machine.js';
import type { HistoryCommand, HistorySaved } from '../../machines/session.machine.js';
import { HistoryError, type HistoryStore } from '../history/history-store.js';
import { historyDataMessages, memoryFromHistory } from '../history/history-memory.js';
import type { Logger } from '../observability/logger.js';
import { stripEmotionTags } from '../agent/expressions.js';
import type { HistoryMessage } from '../history/history-format.js';
import { localTimestamp } from '../history/history-stamps.js';
import type { HistoryLine } from '../../machines/history-lines.js';

/** The chat shows replies without their emotion tags, as it did live. */
function hideTags(message: HistoryMessage, hiddenTags: Record<string, number | string>): HistoryMessage {
  return message.role === 'ai' ? { ...message, content: stripEmotionTags(message.content, hiddenTags) } : message;
}

/** The answers to the history requests (`history-list`, `history-data`, `new-history-created`, `history-deleted`). */
export const historyAnswers = (store: HistoryStore) => ({
  /** The replies' previews without the emotion tags the chat does not show (the files keep them). */
  list: async (confUid: string, hiddenTags: Record<string, number | string>): Promise<RequestResult> => {
    const tags = Object.keys(hiddenTags);
    const preview = tags.length > 0 ? { key: tags.sort().join('\u0000'), shown: (m: HistoryMessage) => hideTags(m, hiddenTags) } : undefined;
    return { frame: { type: 'history-list', histories: await store.listEncoded(confUid, { preview }) } };
  },

  /** The history becomes current and the memory is rebuilt from it (with the model's own words, tags included). */
  load: async (confUid: string, historyUid: string, interruptMethod: 'system' | 'user', hiddenTags: Record<string, number | string>): Promise<RequestResult> => {
    const messages = await store.read(confUid, historyUid);
    const shown = historyDataMessages(messages).map((m) => hideTags(m, hiddenTags));
    return { frame: { type: 'history-data', messages: shown }, historyUid, memory: memoryFromHistory(messages, interruptMethod) };
  },

  /** A fresh history and an empty memory; its file is written with its first message. */
  create: (confUid: string): RequestResult => {
    const uid = store.newUid(confUid);
    return { frame: { type: 'new-history-created', history_uid: uid }, historyUid: uid, memory: [] };
  },

  delete: async (confUid: string, historyUid: string): Promise<RequestResult> => {
    const success = await store.delete(confUid, historyUid);
    return { frame: { type: 'history-deleted', success, history_uid: historyUid }, deletedUid: historyUid };
  },
});

/** Lines as the file keeps them: the time right after the role, as upstream writes it. */
function stamped(lines: readonly HistoryLine[], timestamp: string): HistoryMessage[] {
  return lines.map(({ role, ...rest }) => ({ role, timestamp, ...rest }));
}

/** The session machine's history writer, over the server's shared HistoryStore. */
export function createHistoryActors(store: HistoryStore, logger: Logger) {
  return {
    /**
     * Appends for the session. Pending appends are the store's to finish: stopping the session (a disconnect right
     * after a turn) must not lose the words of that turn, and the server flushes the store before it exits.
     */
    historyWriter: fromCallback<HistoryCommand, { clientUid: string }, EventObject>(({ input, receive, sendBack }) => {
      let stopped = false;
      receive((command) => {
        const saved = (ok: boolean) => {
          if (!stopped && command.confirm) sendBack({ type: 'history.saved', ok, ...(command.confirmTo ? { confirmTo: command.confirmTo } : {}) } satisfies HistorySaved);
        };
        store.append(command.confUid, command.historyUid, stamped(command.messages, localTimestamp()), input.clientUid).then(
          () => saved(true),
          (err: unknown) => {
            const message = err instanceof HistoryError ? err.message : `history could not be saved: ${(err as Error).message}`;
            logger.child({ client_uid: input.clientUid }).error(message);
            if (!stopped) sendBack({ type: 'history.failed', message });
            saved(false);
          },
        );
      });
      return () => {
        stopped = true;
      };
    }),
  };
}
