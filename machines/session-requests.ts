import { enqueueActions, or, sendTo, stateIn, type ActorRefFrom } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { requestQueueMachine, type RequestResult, type SessionRequest } from './request-queue.machine.js';
import type { SessionContext } from './session-contract.js';
import { modelAndConf } from './session-connect.js';
import { errorText } from './error-text.js';
import { sessionSetup, toSocket } from './session-setup.js';

/**
 * The session's requests (`fetch-*`, the history operations, `heartbeat`, `request-init-config`,
 * `request-group-info`): each joins the request queue of the state it arrived in (request-queue.machine.ts), which
 * answers them one at a time in arrival order. Leaving that state (a switch, a disconnect) stops the queue and what
 * it was doing, so a late result has nowhere to land.
 */
export const withRequests = sessionSetup.extend({
  actions: {
    /** A request frame joins the queue of the state it arrived in. */
    queueRequest: sendTo('requests', (_, request: SessionRequest) => ({ type: 'requests.add', request })),
    /** A request's turn has come: its result changes the session (history, memory), then its reply leaves. */
    answerRequest: enqueueActions(({ context, enqueue }, params: { request: SessionRequest; result: RequestResult }) => {
      const { request, result } = params;
      enqueue.assign({
        historyUid:
          result.historyUid !== undefined ? result.historyUid : result.deletedUid !== undefined && result.deletedUid === context.historyUid ? null : context.historyUid,
        memory: result.memory ?? context.memory,
      });
      const frame = result.frame ?? (request.kind === 'inline' ? inlineReply(context, request.frame) : null);
      if (frame) enqueue.sendTo('socket', toSocket(frame));
    }),
    /**
     * A switch stops the request queue and the work it was doing (a late result would land in the new character). The
     * requests that needed no work (heartbeat, group info, init config) are still answered, in their order.
     */
    answerLeftInline: enqueueActions(({ context, enqueue, self }) => {
      const queue = self.getSnapshot().children.requests as ActorRefFrom<typeof requestQueueMachine> | undefined;
      for (const request of queue?.getSnapshot().context.pending ?? []) {
        const frame = request.kind === 'inline' ? inlineReply(context, request.frame) : null;
        if (frame) enqueue.sendTo('socket', toSocket(frame));
      }
    }),
  },
  guards: {
    /** The states that invoke a request queue. */
    takesRequests: or([stateIn('#session.active'), stateIn('#session.switchingConfig')]),
  },
});

/** The queue, as `active` and `switchingConfig` invoke it. */
export const requestQueueInvoke = {
  id: 'requests',
  src: 'requestQueue',
  input: ({ context }: { context: SessionContext }) => ({ maxPending: context.limits.maxPendingRequests }),
} as const;

/** The request frames, and the queue's answers. */
export const requestHandlers = withRequests.createStateConfig({
  on: {
    'client.fetch-configs': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'fetch-configs' } } },
    'client.fetch-backgrounds': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'fetch-backgrounds' } } },
    'client.fetch-history-list': {
      guard: 'takesRequests',
      actions: { type: 'queueRequest', params: ({ context }) => ({ kind: 'fetch-history-list', confUid: confUidOf(context), hiddenTags: hiddenTagsOf(context) }) },
    },
    'client.create-new-history': {
      guard: 'takesRequests',
      actions: { type: 'queueRequest', params: ({ context }) => ({ kind: 'create-new-history', confUid: confUidOf(context) }) },
    },
    'client.fetch-and-set-history': {
      guard: 'takesRequests',
      actions: {
        type: 'queueRequest',
        params: ({ context, event }) => ({
          kind: 'fetch-and-set-history',
          confUid: confUidOf(context),
          historyUid: event.frame.history_uid,
          interruptMethod: context.character!.runtime.interruptMethod,
          hiddenTags: hiddenTagsOf(context),
        }),
      },
    },
    'client.delete-history': {
      guard: 'takesRequests',
      actions: { type: 'queueRequest', params: ({ context, event }) => ({ kind: 'delete-history', confUid: confUidOf(context), historyUid: event.frame.history_uid }) },
    },
    'client.heartbeat': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'inline', frame: 'heartbeat' } } },
    'client.request-init-config': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'inline', frame: 'request-init-config' } } },
    'client.request-group-info': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'inline', frame: 'request-group-info' } } },
    'requests.answered': { actions: { type: 'answerRequest', params: ({ event }) => ({ request: event.request, result: event.result }) } },
    'requests.failed': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', code: 'query_failed', message: errorText(event.error) }) } },
    'requests.refused': {
      actions: {
        type: 'send',
        params: ({ event }) => ({
          type: 'error',
          code: 'too_many_requests',
          message: `"${requestFrameType(event.request)}" was refused: ${event.pending} requests are still waiting for their answers; wait for them before asking again`,
        }),
      },
    },
  },
});

/** The reply to a request the session answers from its own state, built when its turn in the queue comes. */
function inlineReply(context: SessionContext, frame: Extract<SessionRequest, { kind: 'inline' }>['frame']): ServerFrame | null {
  switch (frame) {
    case 'heartbeat':
      return { type: 'heartbeat-ack' };
    case 'request-init-config':
      return context.character ? modelAndConf(context.character, context.clientUid) : null;
    case 'request-group-info':
      return {
        type: 'group-update',
        members: context.group?.members ?? [],
        is_owner: context.group !== null && context.group.ownerUid === context.clientUid,
      };
  }
}

function requestFrameType(request: SessionRequest): string {
  return request.kind === 'inline' ? request.frame : request.kind;
}

const confUidOf = (context: SessionContext) => context.character?.config.conf_uid ?? '';

/** The emotion tags the chat does not show (history files and memory keep them). */
const hiddenTagsOf = (context: SessionContext) =>
  context.character && !context.character.runtime.showEmotionTags ? context.character.modelInfo.emotionMap : {};
