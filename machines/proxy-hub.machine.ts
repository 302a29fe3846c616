import { enqueueActions, fromCallback, setup, stopChild, type EventObject } from 'xstate';
import type { ClientFrame } from '../src/protocol/client-frames.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { emptyIdPool, releaseChild, takeId } from './id-pool.js';
import { LIVE_CHAT_SYSTEM_ID, type LiveAckEvent } from './live-chat-contract.js';
import { answersRequest, LIVE_CHAT_SOURCE, REPLY_OF, type HubContext, type Pending, type ProxyHubEvent, type ViewerCommand, type ViewerInput } from './proxy-hub-contract.js';
import { connectSequence, sessionMachine } from './session.machine.js';
import { sessionSystemId } from './system-ids.js';
import { isChainEnd } from './turn-ending.js';

export type { ProxyHubEvent, ViewerCommand, ViewerInput } from './proxy-hub-contract.js';

/**
 * `/proxy-ws` (system_config.enable_proxy): many viewers share one session, e.g. a live stream whose chat feeds the
 * character text. The hub is the server's child for as long as it serves; it owns one `viewer.<n>` child per viewer
 * socket and, while anybody watches, the shared session (`upstream`, run in-process: its socket is a HubLink).
 *
 *   waiting ⇄ conversing
 *
 * Conversation input (`text-input`, `mic-audio-end`, `ai-speak-signal`) is queued and released one at a time: the next
 * when the session ends the turn with `conversation-chain-end`, is interrupted, refuses it, or after `turnBound`; a
 * live-stream chat message (`live.input`, live-chat.machine.ts) joins the same queue, and the live chat is told when it
 * is released (or that nobody watches, so it is not queued). A viewer joining gets the connect frames alone
 * (docs/upstream-defects.md, U42: upstream reset every viewer and, through
 * its `create-new-history`, the shared memory); answers to a viewer's requests go to that viewer only; everything else
 * the session says goes to every viewer, each through its own actor (docs/upstream-defects.md, U41). When the last
 * viewer leaves, the session is stopped and the hub waits, ready for the next one (docs/upstream-defects.md, U39); the
 * next session picks the conversation up again from its history. The shared session's uid and its link to the hub come
 * from src (the provided `newUpstream` action).
 */

const QUEUED: ReadonlySet<string> = new Set(['text-input', 'mic-audio-end', 'ai-speak-signal']);

const viewerSend = (frame: ServerFrame) => ({ type: 'viewer.send', frame }) as const;
const liveAck = (outcome: LiveAckEvent['outcome']): LiveAckEvent => ({ type: 'live.ack', outcome });
const toSession = (frame: ClientFrame) => ({ type: `client.${frame.type}`, frame }) as EventObject;

export const proxyHubMachine = setup({
  types: {
    context: {} as HubContext,
    events: {} as ProxyHubEvent,
  },
  actors: {
    session: sessionMachine,
    viewer: fromCallback<ViewerCommand, ViewerInput>(() => {
      throw new Error('actor "viewer" must be provided with machine.provide()');
    }),
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
      if (QUEUED.has(frame.type)) {
        enqueue.assign({ queue: [...context.queue, { viewerId, frame }] });
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
      if (context.sessionUid === null) return;
      const replyType = REPLY_OF[frame.type];
      if (replyType) enqueue.assign({ requests: [...context.requests, { replyType, viewerId, frame }] });
      else enqueue.sendTo('upstream', toSession(frame));
    }),
    /**
     * A live-stream chat message is queued like a viewer's text-input; the live chat is told when it is released.
     * Nobody watching: nobody would hear the answer, so it is refused at once.
     */
    takeLiveInput: enqueueActions(({ context, event, system, enqueue }) => {
      if (event.type !== 'live.input') return;
      if (context.viewers.length > 0) {
        enqueue.assign({ queue: [...context.queue, { viewerId: LIVE_CHAT_SOURCE, frame: { type: 'text-input', text: event.text, images: [] } }] });
        return;
      }
      const chat = system.get(LIVE_CHAT_SYSTEM_ID);
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
      enqueue('newUpstream');
    }),
    spawnSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'upstream.link' || context.sessionUid !== null || context.viewers.length === 0) return;
      enqueue.spawnChild('session', { id: 'upstream', systemId: sessionSystemId(event.uid), input: { clientUid: event.uid, socket: event.link } });
      enqueue.assign({ sessionUid: event.uid, sessionReady: false, modelAndConf: null });
    }),
  },
}).createMachine({
  id: 'proxyHub',
  context: {
    viewers: [],
    viewerIds: emptyIdPool(),
    queue: [],
    sessionUid: null,
    sessionReady: false,
    modelAndConf: null,
    historyUid: null,
    requests: [],
    inFlight: null,
    requestSeq: 0,
    chainStarted: false,
    restoring: false,
  },
  on: {
    'proxy.connected': {
      actions: [
        enqueueActions(({ context, event, enqueue }) => {
          const [n, viewerIds] = takeId(context.viewerIds);
          const id = `viewer.${n}`;
          enqueue.spawnChild('viewer', { id, input: { viewerId: id, socket: event.socket } });
          enqueue.assign({ viewers: [...context.viewers, id], viewerIds });
          // Joining a running session: this viewer alone gets the connect frames.
          if (context.sessionReady && context.modelAndConf) for (const frame of connectSequence(context.modelAndConf)) enqueue.sendTo(id, viewerSend(frame));
        }),
        'startSession',
      ],
    },
    'viewer.closed': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const viewers = context.viewers.filter((v) => v !== event.viewerId);
        enqueue.assign({
          viewers,
          viewerIds: releaseChild(enqueue, context.viewerIds, event.viewerId),
          // Answers still owed to the viewer are dropped, not sent to somebody else.
          requests: context.requests.filter((r) => r.viewerId !== event.viewerId),

        });
        // Nobody watches: the session ends (and with it everything it runs); its history keeps the conversation.
        if (viewers.length === 0 && context.sessionUid !== null) enqueue.sendTo('upstream', { type: 'server.shutdown' });
      }),
    },
    'viewer.frame': { actions: ['takeViewerFrame', 'dispatchRequest'] },
    'live.input': { actions: 'takeLiveInput' },
    'upstream.frame': { actions: ['routeUpstream', 'dispatchRequest'] },
    'request.overdue': { actions: ['requestOverdue', 'dispatchRequest'] },
    'upstream.link': { actions: 'spawnSession' },
    // The session ended (everybody left, or it failed): released; somebody who joined meanwhile gets a new one.
    'xstate.done.actor.upstream': { target: '.waiting', actions: ['sessionEnded', 'startSession'] },
    'xstate.error.actor.upstream': { target: '.waiting', actions: ['sessionEnded', 'startSession'] },
  },
  initial: 'waiting',
  states: {
    waiting: {
      always: { guard: 'canRelease', target: 'conversing', actions: 'releaseNext' },
    },
    conversing: {
      after: { turnBound: 'waiting' },
      on: {
        'upstream.frame': [
          { guard: 'endsConversation', target: 'waiting', actions: ['routeUpstream', 'dispatchRequest'] },
          { actions: ['routeUpstream', 'dispatchRequest'] },
        ],
        'viewer.frame': [
          { guard: 'endsConversation', target: 'waiting', actions: ['takeViewerFrame', 'dispatchRequest'] },
          { actions: ['takeViewerFrame', 'dispatchRequest'] },
        ],
      },
    },
  },
});
