import { enqueueActions, fromCallback, setup, stopChild, type EventObject } from 'xstate';
import type { ClientFrame } from '../src/protocol/client-frames.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { LIVE_CHAT_SYSTEM_ID, type LiveAckEvent } from './live-chat-contract.js';
import { answersRequest, LIVE_CHAT_SOURCE, REPLY_OF, type HubContext, type Pending, type PeerUpstreamInput, type PeerViewerInput, type ProxyHubEvent, type ProxyHubInput, type ViewerCommand, type ViewerInput } from './proxy-hub-contract.js';
import { PEER_UPSTREAM_SYSTEM_ID } from './proxy-hub-contract.js';
import { errorFrame } from '../src/protocol/error-codes.js';
import { sessionMachine } from './session.machine.js';
import { sessionSystemId } from './system-ids.js';
import { isChainEnd } from './turn-ending.js';
/**
 * The `/proxy-ws` hub's slots, bounds, guards and the actions of one instance: routing the session's frames, queueing
 * and releasing conversation input, one request in flight. proxy-hub-peers.ts adds what crosses instances, and
 * proxy-hub.machine.ts builds the machine.
 */

const notProvided = (name: string) => () => {
  throw new Error(`actor "${name}" must be provided with machine.provide()`);
};

const QUEUED: ReadonlySet<string> = new Set(['text-input', 'mic-audio-end', 'ai-speak-signal']);

export const viewerSend = (frame: ServerFrame) => ({ type: 'viewer.send', frame }) as const;
const liveAck = (outcome: LiveAckEvent['outcome']): LiveAckEvent => ({ type: 'live.ack', outcome });
const toSession = (frame: ClientFrame) => ({ type: `client.${frame.type}`, frame }) as EventObject;

/** What a viewer hears while no instance runs the shared session (Redis away, or the lease moving). */
export const NO_OWNER: ServerFrame = errorFrame('cluster_unavailable', 'The shared session is moving to another instance or waiting for Redis; it continues by itself in a moment');

export const hubSetup = setup({
  types: {
    context: {} as HubContext,
    events: {} as ProxyHubEvent,
    input: {} as ProxyHubInput,
  },
  actors: {
    session: sessionMachine,
    viewer: fromCallback<ViewerCommand, ViewerInput>(notProvided('viewer')),
    /** Across instances: the viewers of another instance, as one viewer of the session run here. */
    peerViewer: fromCallback<EventObject, PeerViewerInput>(notProvided('peerViewer')),
    /** Across instances: the link to the instance that runs the session, in the `upstream` slot. */
    peerUpstream: fromCallback<EventObject, PeerUpstreamInput>(notProvided('peerUpstream')),
  },
  delays: {
    /** The longest a released input may hold the queue without the session ending its reply. */
    turnBound: 120_000,
    /** The longest the session may take to answer one viewer request before the viewer is told it failed. */
    requestBound: 15_000,
  },
  guards: {
    canRelease: ({ context }) => context.sessionReady && !context.restoring && context.queue.length > 0,
    endsConversation: ({ context, event }) => {
      if (event.type === 'upstream.frame') {
        const { frame } = event;
        if (isChainEnd(frame)) return true;
        // The session refused the input (no reply started): nothing will end it. A failed request is not a refusal.
        return frame.type === 'error' && !context.chainStarted && !(context.inFlight && answersRequest(context.inFlight, frame));
      }
      return event.type === 'viewer.frame' && event.frame.type === 'interrupt-signal';
    },
  },
  actions: {
    /** Every viewer gets the frame, each through its own actor; a reply to a request only the viewer who asked. */
    routeUpstream: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'upstream.frame') return;
      const { frame } = event;
      if (frame.type === 'control' && frame.text === 'conversation-chain-start') enqueue.assign({ chainStarted: true });
      if (frame.type === 'new-history-created') enqueue.assign({ historyUid: frame.history_uid });
      if (frame.type === 'set-model-and-conf') {
        // Another character (a viewer's switch-config) starts another conversation, with a history of its own.
        const switched = context.modelAndConf?.type === 'set-model-and-conf' && context.modelAndConf.conf_uid !== frame.conf_uid;
        enqueue.assign({ modelAndConf: frame, sessionReady: true, ...(switched ? { historyUid: null } : {}) });
        if (!context.sessionReady && context.historyUid) {
          // A new session after everybody had left: it continues the conversation from its history.
          const frame: ClientFrame = { type: 'fetch-and-set-history', history_uid: context.historyUid };
          enqueue.assign({ requests: [{ replyType: 'history-data', viewerId: null, frame }, ...context.requests], restoring: true });
        }
      }
      const request = context.inFlight;
      if (request && answersRequest(request, frame)) {
        enqueue.cancel('requestBound');
        enqueue.assign({ inFlight: null });
        if (request.viewerId === null) {
          // The hub's own restore: loaded, or (deleted meanwhile) the conversation starts afresh and viewers are told.
          enqueue.assign({ restoring: false });
          if (frame.type === 'error') for (const viewerId of context.viewers) enqueue.sendTo(viewerId, viewerSend(frame));
        } else if (context.viewers.includes(request.viewerId)) enqueue.sendTo(request.viewerId, viewerSend(frame));
        return;
      }
      for (const viewerId of context.viewers) enqueue.sendTo(viewerId, viewerSend(frame));
    }),
    takeViewerFrame: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'viewer.frame') return;
      const { viewerId, frame } = event;
      const reply = (out: ServerFrame) => enqueue.sendTo(viewerId, viewerSend(out));
      // One viewer's queued input and requests are bounded: a flood from one does not grow the hub for all.
      const full = () => {
        const waiting = context.queue.filter((q) => q.viewerId === viewerId).length + context.requests.filter((r) => r.viewerId === viewerId).length;
        if (waiting < context.maxPendingPerViewer) return false;
        reply(errorFrame('too_many_requests', `You have ${waiting} messages and requests waiting for the shared session already; please wait for an answer`));
        return true;
      };
      if (QUEUED.has(frame.type)) {
        if (!full()) enqueue.assign({ queue: [...context.queue, { viewerId, frame }] });
        return;
      }
      switch (frame.type) {
        case 'request-init-config':
          if (context.modelAndConf) reply(context.modelAndConf);
          return;
        case 'create-new-history':
          // The shared conversation is not reset by a viewer joining (docs/upstream-defects.md, U42): it gets the
          // current history.
          if (context.historyUid) return reply({ type: 'new-history-created', history_uid: context.historyUid });
          break;
        case 'add-client-to-group':
        case 'remove-client-from-group':
          return reply({ type: 'group-operation-result', success: false, message: 'Groups are not available through /proxy-ws' });
        case 'audio-play-start':
          return;
        case 'fetch-and-set-history':
          enqueue.assign({ historyUid: frame.history_uid });
          break;
      }
      const replyType = REPLY_OF[frame.type];
      if (context.sessionUid === null) {
        // Across instances, while nobody is known to run the session: the viewer hears why, and asks again.
        if (replyType && context.instanceId !== null && context.owner === null) reply(NO_OWNER);
        // Otherwise a session is on its way: the request waits for it (within its bound, once sent).
        else if (replyType && context.instanceId !== null && !full()) enqueue.assign({ requests: [...context.requests, { replyType, viewerId, frame }] });
        return;
      }
      if (replyType) {
        if (!full()) enqueue.assign({ requests: [...context.requests, { replyType, viewerId, frame }] });
      }
      else enqueue.sendTo('upstream', toSession(frame));
    }),
    /**
     * A live-stream chat message is queued like a viewer's text-input; the live chat is told when it is released.
     * Nobody watching: nobody would hear the answer, so it is refused at once.
     */
    takeLiveInput: enqueueActions(({ context, event, system, enqueue }) => {
      if (event.type !== 'live.input') return;
      const chat = system.get(LIVE_CHAT_SYSTEM_ID);
      // Across instances, only the owner's live chat feeds the session (every instance hears the same rooms).
      if (context.instanceId !== null && context.owner !== context.instanceId) {
        if (chat) enqueue.sendTo(chat, liveAck('elsewhere'));
        return;
      }
      if (context.viewers.length > 0) {
        enqueue.assign({ queue: [...context.queue, { viewerId: LIVE_CHAT_SOURCE, frame: { type: 'text-input', text: event.text, images: [] } }] });
        return;
      }
      if (chat) enqueue.sendTo(chat, liveAck('unheard'));
    }),
    /** The next request goes to the session once the previous one is answered (or overdue). */
    dispatchRequest: enqueueActions(({ context, enqueue }) => {
      if (context.inFlight || !context.sessionReady || context.sessionUid === null) return;
      const [next, ...rest] = context.requests;
      if (!next) return;
      const seq = context.requestSeq + 1;
      enqueue.sendTo('upstream', toSession(next.frame));
      enqueue.raise({ type: 'request.overdue', seq }, { id: 'requestBound', delay: 'requestBound' });
      enqueue.assign({ requests: rest, inFlight: { ...next, seq }, requestSeq: seq });
    }),
    /** The session did not answer in time: the viewer hears so, and the next request goes. */
    requestOverdue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'request.overdue' || context.inFlight?.seq !== event.seq) return;
      const { viewerId, frame } = context.inFlight;
      enqueue.assign({ inFlight: null, ...(viewerId === null ? { restoring: false } : {}) });
      if (viewerId && context.viewers.includes(viewerId)) {
        enqueue.sendTo(viewerId, viewerSend({ type: 'error', code: 'proxy', message: `The session did not answer "${frame.type}" in time; please try again` }));
      }
    }),
    /** The oldest queued input goes to the session; the other viewers see what was said (the sender shows it). */
    releaseNext: enqueueActions(({ context, system, enqueue }) => {
      const [next, ...rest] = context.queue;
      if (!next) return;
      const chat = next.viewerId === LIVE_CHAT_SOURCE ? system.get(LIVE_CHAT_SYSTEM_ID) : undefined;
      if (chat) enqueue.sendTo(chat, liveAck('released'));
      if (next.frame.type === 'text-input') {
        for (const viewerId of context.viewers) {
          if (viewerId !== next.viewerId) enqueue.sendTo(viewerId, viewerSend({ type: 'user-input-transcription', text: next.frame.text }));
        }
      }
      enqueue.sendTo('upstream', toSession(next.frame));
      enqueue.assign({ queue: rest, chainStarted: false });
    }),
    sessionEnded: enqueueActions(({ context, system, enqueue }) => {
      enqueue(stopChild('upstream'));
      const chat = system.get(LIVE_CHAT_SYSTEM_ID);
      const liveDropped = context.viewers.length === 0 && context.queue.some((q) => q.viewerId === LIVE_CHAT_SOURCE);
      if (chat && liveDropped) enqueue.sendTo(chat, liveAck('unheard'));
      enqueue.cancel('requestBound');
      // A viewer's request the ended session did not answer goes to the next session first.
      const unanswered = context.inFlight && context.inFlight.viewerId !== null ? [context.inFlight] : [];
      const requests = [...unanswered, ...context.requests].filter((r) => r.viewerId !== null && context.viewers.includes(r.viewerId));
      const keep = context.viewers.length > 0;
      enqueue.assign({ sessionUid: null, sessionReady: false, restoring: false, queue: keep ? context.queue : [], requests: keep ? requests : [], inFlight: null });
    }),
    /**
     * Raises `upstream.link` with a new uid and a link to this hub (`self`) for the next shared session. Provided by
     * src: a machine makes no random ids and no links.
     */
    newUpstream: () => {
      throw new Error('action "newUpstream" must be provided with machine.provide()');
    },
    /** The shared session, when somebody watches and none runs: its uid and link are asked for first. */
    startSession: enqueueActions(({ context, enqueue }) => {
      if (context.sessionUid !== null || context.viewers.length === 0) return;
      // Across instances, only once somebody holds the lease.
      if (context.instanceId !== null && context.owner === null) return;
      enqueue('newUpstream');
    }),
    /** The session itself when this instance runs it (one instance alone, or the lease's holder); else a link to it. */
    spawnSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'upstream.link' || context.sessionUid !== null || context.viewers.length === 0) return;
      const { instanceId, owner } = context;
      if (instanceId === null || owner === instanceId) {
        enqueue.spawnChild('session', { id: 'upstream', systemId: sessionSystemId(event.uid), input: { clientUid: event.uid, socket: event.link } });
      } else if (owner !== null) {
        enqueue.spawnChild('peerUpstream', { id: 'upstream', systemId: PEER_UPSTREAM_SYSTEM_ID, input: { owner } });
      } else return;
      enqueue.assign({ sessionUid: event.uid, sessionReady: false, modelAndConf: null, upstreamOwner: owner });
    }),
  },
});
