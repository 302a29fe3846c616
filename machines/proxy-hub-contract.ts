import type { ClientFrame } from '../src/protocol/client-frames.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { ClientSocket, HubLink } from './socket-contract.js';
import type { IdPool } from './id-pool.js';
import type { LiveInputEvent } from './live-chat-contract.js';
import type { ProxyOwnerEvent } from './proxy-lease.machine.js';

/** The `/proxy-ws` hub's contract (proxy-hub.machine.ts): its context, its events, its viewer slot, request routing. */

/** A request whose answer belongs to whoever asked. */
export interface Pending {
  replyType: ServerFrame['type'];
  /** null: the hub asked for it and swallows the answer. */
  viewerId: string | null;
  frame: ClientFrame;
}

export interface HubContext {
  /** Viewer child ids in join order. */
  viewers: string[];
  viewerIds: IdPool;
  /** Conversation input in arrival order; `viewerId` is LIVE_CHAT_SOURCE for a live-stream chat message. */
  queue: Array<{ viewerId: string; frame: ClientFrame }>;
  sessionUid: string | null;
  sessionReady: boolean;
  /** The session's last `set-model-and-conf`, for viewers who join later. */
  modelAndConf: ServerFrame | null;
  historyUid: string | null;
  /** Requests waiting for their turn: one is in flight at a time, so its answer (or its error) is known to be its own. */
  requests: Pending[];
  inFlight: (Pending & { seq: number }) | null;
  requestSeq: number;
  /** The released input has started a reply (conversation-chain-start seen). */
  chainStarted: boolean;
  /** A new session is loading the conversation's history: input waits until its memory is back. */
  restoring: boolean;
  /** This instance's id when instances share the proxy (system_config.cluster); null for one instance alone. */
  instanceId: string | null;
  /** The instance that runs the shared session (proxy-lease.machine.ts); null: nobody is known to. */
  owner: string | null;
  /** The owner the running upstream belongs to (this instance's id for a session run here). */
  upstreamOwner: string | null;
  /** The history uid the other instances' viewers were last told (they continue it if this instance goes). */
  sharedHistoryUid: string | null;
  /** A viewer's queued input and requests, together, at most (system_config.max_pending_requests). */
  maxPendingPerViewer: number;
}

export interface ProxyHubInput {
  /** Set when instances share the proxy: the lease decides who runs the session. */
  instanceId?: string | null;
  /** A viewer's queued input and requests, together, at most (default 32). */
  maxPendingPerViewer?: number;
}

export type ProxyHubEvent =
  | { type: 'proxy.connected'; socket: ClientSocket }
  | { type: 'viewer.frame'; viewerId: string; frame: ClientFrame }
  | { type: 'viewer.closed'; viewerId: string }
  | { type: 'upstream.frame'; frame: ServerFrame }
  | { type: 'request.overdue'; seq: number }
  /** A live-stream chat message (live-chat.machine.ts), queued like a viewer's text-input. */
  | LiveInputEvent
  /** Raised by `newUpstream`: the uid and the link of the next shared session. */
  | { type: 'upstream.link'; uid: string; link: HubLink }
  | { type: 'xstate.done.actor.upstream' }
  | { type: 'xstate.error.actor.upstream'; error: unknown }
  /** Across instances: who runs the shared session now (proxy-lease.machine.ts). */
  | ProxyOwnerEvent
  /** Across instances: another instance's viewers join the session run here (src/cluster/proxy-mail.ts). */
  | { type: 'proxy.peerJoined'; peer: string; link: string }
  /** Across instances: the owner's history uid, through the upstream that links to it. */
  | { type: 'upstream.history'; historyUid: string | null }
  /** Across instances: the link to the owner ended (it left, went silent, or the last viewer here left). */
  | { type: 'upstream.ended' };

/** The `viewer` slot: one viewer's socket (src/proxy/viewer-socket-actor.ts). */
export interface ViewerInput {
  viewerId: string;
  socket: ClientSocket;
}

/** `viewer.history`: the history uid of the shared conversation, for another instance's viewers (others ignore it). */
export type ViewerCommand = { type: 'viewer.send'; frame: ServerFrame } | { type: 'viewer.history'; historyUid: string | null };

/** Another instance whose viewers watch the session run here (src/cluster/peer-viewer.ts), as one of the hub's viewers. */
export interface PeerViewerInput {
  viewerId: string;
  peer: string;
  /** The id of the link that instance joined with. */
  link: string;
}

/** The link to the instance that runs the session (src/cluster/peer-upstream.ts), in the hub's `upstream` slot. */
export interface PeerUpstreamInput {
  owner: string;
}

/** Child ids of other instances' viewers: `peer.<instance id>`. */
export const PEER_VIEWER_PREFIX = 'peer.';
export const isPeerViewer = (viewerId: string) => viewerId.startsWith(PEER_VIEWER_PREFIX);
/** How the Redis mail finds a peer viewer and the upstream link (src/cluster/proxy-mail.ts). */
export const peerViewerSystemId = (peer: string) => `proxyPeer:${peer}`;
export const PEER_UPSTREAM_SYSTEM_ID = 'proxyUpstream';

/** The queue's sender of live-stream chat messages: every viewer sees them as said by somebody else. */
export const LIVE_CHAT_SOURCE = 'live-chat';

/** Requests whose answer belongs to the viewer who asked. */
export const REPLY_OF: Partial<Record<ClientFrame['type'], ServerFrame['type']>> = {
  'fetch-configs': 'config-files',
  'fetch-backgrounds': 'background-files',
  'fetch-history-list': 'history-list',
  'fetch-and-set-history': 'history-data',
  'delete-history': 'history-deleted',
  'create-new-history': 'new-history-created',
  heartbeat: 'heartbeat-ack',
  'request-group-info': 'group-update',
};

/** Error codes with which the session answers a request it could not serve (session.machine: its request queue). */
const REQUEST_FAILED: ReadonlySet<string> = new Set(['query_failed', 'too_many_requests']);

/** Whether `frame` is the session's answer to the request in flight: its reply type, or the error of a failed query. */
export function answersRequest(request: { replyType: ServerFrame['type'] }, frame: ServerFrame): boolean {
  return frame.type === request.replyType || (frame.type === 'error' && frame.code !== undefined && REQUEST_FAILED.has(frame.code));
}
