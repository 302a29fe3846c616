import { assign, fromPromise, sendParent, setup } from 'xstate';
import type { ChatMessage } from '../src/agent/chat-memory.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';

/**
 * A session's requests (fetch-configs, the history operations, heartbeat, …), answered one at a time in the order they
 * arrived (docs/decisions.md, 10). The session invokes this queue in each state where requests are valid; leaving the
 * state (switch-config, disconnect, shutdown) stops the queue and the work in progress, so a late result has nowhere to
 * land and nothing is answered across a switch.
 *
 *   waiting ⇄ working (invokes `answer` for the oldest request)
 *
 * Work runs one request at a time, so each request sees the effects of the ones before it (a list after a delete,
 * a load after a create). Requests the session answers from its own state (`inline`) take their turn like the rest.
 */

/**
 * What the client asked, with what the work needs from the session at the time it asked. `hiddenTags`: the emotion
 * tags the chat does not show (files and memory keep them).
 */
export type SessionRequest =
  | { kind: 'fetch-configs' }
  | { kind: 'fetch-backgrounds' }
  | { kind: 'fetch-history-list'; confUid: string; hiddenTags: Record<string, number | string> }
  | { kind: 'create-new-history'; confUid: string }
  | { kind: 'fetch-and-set-history'; confUid: string; historyUid: string; interruptMethod: 'system' | 'user'; hiddenTags: Record<string, number | string> }
  | { kind: 'delete-history'; confUid: string; historyUid: string }
  /** Answered by the session from its context when its turn comes (heartbeat, request-init-config, group info). */
  | { kind: 'inline'; frame: 'heartbeat' | 'request-init-config' | 'request-group-info' };

/** What answering a request produces. */
export interface RequestResult {
  /** The reply frame; null for an inline request (the session builds it). */
  frame: ServerFrame | null;
  /** The session's current history from now on. */
  historyUid?: string;
  /** The session's memory from now on. */
  memory?: ChatMessage[];
  /** A deleted history: if it was the current one, the session has none any more. */
  deletedUid?: string;
}

export interface RequestQueueInput {
  /** Requests waiting at most (the one being answered included); more are refused. */
  maxPending: number;
}

export type RequestQueueEvent = { type: 'requests.add'; request: SessionRequest };

/** Sent to the session, in arrival order of the requests. */
export type RequestQueueOutputEvent =
  | { type: 'requests.answered'; request: SessionRequest; result: RequestResult }
  | { type: 'requests.failed'; request: SessionRequest; error: unknown }
  /** The queue was full: the session answers this one with an error at once. */
  | { type: 'requests.refused'; request: SessionRequest; pending: number };

interface RequestQueueContext {
  maxPending: number;
  pending: SessionRequest[];
}

export const requestQueueMachine = setup({
  types: {
    context: {} as RequestQueueContext,
    events: {} as RequestQueueEvent,
    input: {} as RequestQueueInput,
  },
  actors: {
    /** Answers one request (reads the character list, the history store, …); stopping it abandons the answer. */
    answerRequest: fromPromise<RequestResult, Exclude<SessionRequest, { kind: 'inline' }>>(() => {
      throw new Error('actor "answerRequest" must be provided with machine.provide()');
    }),
  },
  actions: {
    shift: assign({ pending: ({ context }) => context.pending.slice(1) }),
    /** The queue is full: the session is told to refuse this request at once. */
    refuseRequest: sendParent(({ context, event }) => ({ type: 'requests.refused', request: event.request, pending: context.pending.length }) satisfies RequestQueueOutputEvent),
    /** A request joins the end of the queue. */
    queueRequest: assign({ pending: ({ context, event }) => [...context.pending, event.request] }),
    /** The oldest request is answered: the session gets it back with its result. */
    reportAnswered: sendParent(({ context }, result: RequestResult) => ({ type: 'requests.answered', request: context.pending[0]!, result }) satisfies RequestQueueOutputEvent),
    /** The work for the oldest request failed: the session gets it back with the error. */
    reportFailed: sendParent(({ context }, failure: { error: unknown }) => ({ type: 'requests.failed', request: context.pending[0]!, error: failure.error }) satisfies RequestQueueOutputEvent),
  },
  guards: {
    hasPending: ({ context }) => context.pending.length > 0,
    inlineNext: ({ context }) => context.pending[0]?.kind === 'inline',
    full: ({ context }) => context.pending.length >= context.maxPending,
  },
}).createMachine({
  id: 'requests',
  context: ({ input }) => ({ maxPending: input.maxPending, pending: [] }),
  on: {
    'requests.add': [
      { guard: 'full', actions: 'refuseRequest' },
      { actions: 'queueRequest' },
    ],
  },
  initial: 'waiting',
  states: {
    waiting: {
      always: [
        { guard: 'inlineNext', target: 'inline' },
        { guard: 'hasPending', target: 'working' },
      ],
    },
    /** Nothing to work on: the session answers it now, after everything asked before it. */
    inline: {
      entry: [{ type: 'reportAnswered', params: { frame: null } }, 'shift'],
      always: 'waiting',
    },
    working: {
      invoke: {
        src: 'answerRequest',
        input: ({ context }) => context.pending[0] as Exclude<SessionRequest, { kind: 'inline' }>,
        onDone: {
          target: 'waiting',
          actions: [{ type: 'reportAnswered', params: ({ event }) => event.output }, 'shift'],
        },
        onError: {
          target: 'waiting',
          actions: [{ type: 'reportFailed', params: ({ event }) => ({ error: event.error }) }, 'shift'],
        },
      },
    },
  },
});
