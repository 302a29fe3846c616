import { enqueueActions } from 'xstate';
import { emptyIdPool, releaseChild, takeId } from './id-pool.js';
import { isPeerViewer, type ProxyHubInput } from './proxy-hub-contract.js';
import { withPeers } from './proxy-hub-peers.js';
import { viewerSend } from './proxy-hub-setup.js';
import { connectSequence } from './session-connect.js';

export type { ProxyHubEvent, ProxyHubInput, ViewerCommand, ViewerInput } from './proxy-hub-contract.js';

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
 *
 * This file is the hub's lifecycle; read with it:
 *   proxy-hub-contract.ts  context, events, the viewer and peer slots, request routing
 *   proxy-hub-setup.ts     the slots, bounds, guards, and the actions of one instance
 *   proxy-hub-peers.ts     across instances: the lease's owner runs the session, the others link to it
 */

/** The viewers' arrivals and departures. */
const withViewers = withPeers.extend({
  actions: {
    /** A new viewer socket: its own `viewer.<n>` child, and the connect frames if a session is already running. */
    addViewer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'proxy.connected') return;
      const [n, viewerIds] = takeId(context.viewerIds);
      const id = `viewer.${n}`;
      enqueue.spawnChild('viewer', { id, input: { viewerId: id, socket: event.socket } });
      enqueue.assign({ viewers: [...context.viewers, id], viewerIds });
      // Joining a running session: this viewer alone gets the connect frames.
      if (context.sessionReady && context.modelAndConf) for (const frame of connectSequence(context.modelAndConf)) enqueue.sendTo(id, viewerSend(frame));
    }),
    /** A viewer left: it is released with the answers it was owed; the last one to leave ends the session. */
    removeViewer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'viewer.closed') return;
      const viewers = context.viewers.filter((v) => v !== event.viewerId);
      if (isPeerViewer(event.viewerId)) enqueue.stopChild(event.viewerId);
      enqueue.assign({
        viewers,
        viewerIds: isPeerViewer(event.viewerId) ? context.viewerIds : releaseChild(enqueue, context.viewerIds, event.viewerId),
        // Answers still owed to the viewer are dropped, not sent to somebody else.
        requests: context.requests.filter((r) => r.viewerId !== event.viewerId),
      });
      // Nobody watches: the session ends (and with it everything it runs); its history keeps the conversation.
      if (viewers.length === 0 && context.sessionUid !== null) enqueue.sendTo('upstream', { type: 'server.shutdown' });
    }),
  },
});

export const proxyHubMachine = withViewers.createMachine({
  id: 'proxyHub',
  context: ({ input }) => ({
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
    instanceId: input.instanceId ?? null,
    owner: null,
    upstreamOwner: null,
    sharedHistoryUid: null,
    maxPendingPerViewer: input.maxPendingPerViewer ?? 32,
  }),
  entry: 'askLease',
  on: {
    'proxy.connected': { actions: ['addViewer', 'startSession'] },
    'viewer.closed': { actions: 'removeViewer' },
    'viewer.frame': { actions: ['takeViewerFrame', 'shareHistory', 'dispatchRequest'] },
    'live.input': { actions: 'takeLiveInput' },
    'upstream.frame': { actions: ['routeUpstream', 'shareHistory', 'dispatchRequest'] },
    'request.overdue': { actions: ['requestOverdue', 'dispatchRequest'] },
    'upstream.link': { actions: 'spawnSession' },
    // The session ended (everybody left, or it failed): released; somebody who joined meanwhile gets a new one.
    'xstate.done.actor.upstream': { target: '.waiting', actions: ['sessionEnded', 'startSession'] },
    'xstate.error.actor.upstream': { target: '.waiting', actions: ['sessionEnded', 'startSession'] },
    'upstream.ended': { target: '.waiting', actions: ['sessionEnded', 'startSession'] },
    // Across instances (proxy-hub-peers.ts).
    'proxy.owner': [
      { guard: 'upstreamStale', target: '.waiting', actions: ['takeOwner', 'sessionEnded', 'startSession'] },
      { actions: ['takeOwner', 'startSession'] },
    ],
    'proxy.peerJoined': { actions: ['joinPeer', 'startSession'] },
    'upstream.history': { actions: 'learnHistory' },
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
          { guard: 'endsConversation', target: 'waiting', actions: ['routeUpstream', 'shareHistory', 'dispatchRequest'] },
          { actions: ['routeUpstream', 'shareHistory', 'dispatchRequest'] },
        ],
        'viewer.frame': [
          { guard: 'endsConversation', target: 'waiting', actions: ['takeViewerFrame', 'shareHistory', 'dispatchRequest'] },
          { actions: ['takeViewerFrame', 'shareHistory', 'dispatchRequest'] },
        ],
      },
    },
  },
});
