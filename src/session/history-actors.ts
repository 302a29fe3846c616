import { fromCallback, fromPromise, type EventObject } from 'xstate';
import type { HistoryCommand, QueryResult } from '../../machines/session.machine.js';
import { HistoryError, type HistoryStore } from '../history/history-store.js';
import { historyDataMessages, memoryFromHistory } from '../history/history-memory.js';
import type { Logger } from '../observability/logger.js';
import { stripEmotionTags } from '../agent/expressions.js';

/** The session machine's history slots, over the server's shared HistoryStore. */
export function createHistoryActors(store: HistoryStore, logger: Logger) {
  return {
    listHistories: fromPromise<QueryResult, { confUid: string; hiddenTags?: Record<string, number | string> }>(async ({ input }) => {
      const histories = await store.list(input.confUid);
      const hidden = input.hiddenTags ?? {};
      return {
        frame: {
          type: 'history-list',
          histories: histories.map((h) => (h.latest_message.role === 'ai' ? { ...h, latest_message: { ...h.latest_message, content: stripEmotionTags(h.latest_message.content, hidden) } } : h)),
        },
      };
    }),

    loadHistory: fromPromise<QueryResult, { confUid: string; historyUid: string; interruptMethod: 'system' | 'user'; hiddenTags?: Record<string, number | string> }>(async ({ input }) => {
      const messages = await store.read(input.confUid, input.historyUid);
      // The chat shows the replies without their emotion tags, as it did live; the memory keeps the model's words.
      const hidden = input.hiddenTags ?? {};
      const shown = historyDataMessages(messages).map((m) => (m.role === 'ai' ? { ...m, content: stripEmotionTags(m.content, hidden) } : m));
      return {
        frame: { type: 'history-data', messages: shown },
        historyUid: input.historyUid,
        memory: memoryFromHistory(messages, input.interruptMethod),
      };
    }),

    createHistory: fromPromise<QueryResult, { confUid: string }>(async ({ input }) => {
      const uid = await store.create(input.confUid);
      return { frame: { type: 'new-history-created', history_uid: uid }, historyUid: uid, memory: [] };
    }),

    deleteHistory: fromPromise<QueryResult, { confUid: string; historyUid: string }>(async ({ input }) => {
      const success = await store.delete(input.confUid, input.historyUid);
      return { frame: { type: 'history-deleted', success, history_uid: input.historyUid }, deletedUid: input.historyUid };
    }),

    /**
     * Appends for the session. Pending appends are the store's to finish: stopping the session (a disconnect right
     * after a turn) must not lose the words of that turn, and the server flushes the store before it exits.
     */
    historyWriter: fromCallback<HistoryCommand, { clientUid: string }, EventObject>(({ input, receive, sendBack }) => {
      let stopped = false;
      receive((command) => {
        store.append(command.confUid, command.historyUid, command.messages).catch((err: unknown) => {
          const message = err instanceof HistoryError ? err.message : `history could not be saved: ${(err as Error).message}`;
          logger.child({ client_uid: input.clientUid }).error(message);
          if (!stopped) sendBack({ type: 'history.failed', message });
        });
      });
      return () => {
        stopped = true;
      };
    }),
  };
}
