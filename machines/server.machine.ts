import { assign, enqueueActions, fromCallback, sendTo, setup, type EventObject } from 'xstate';
import type { ClientSocket } from './socket-contract.js';
import { emptyIdPool, releaseChild, takeId, type IdPool } from './id-pool.js';
import { groupMachine } from './group.machine.js';
import { proxyHubMachine } from './proxy-hub.machine.js';
import { sessionMachine, type GroupCreateRequest } from './session.machine.js';
import { TOOL_SERVERS_SYSTEM_ID, toolServersMachine } from './tool-servers.machine.js';
import { LOCAL_MODELS_SYSTEM_ID } from './local-model-contract.js';
import { localModelsMachine } from './local-models.machine.js';
import { LIVE_CHAT_SYSTEM_ID, PROXY_HUB_SYSTEM_ID, type LiveChatInput } from './live-chat-contract.js';
import { liveChatMachine } from './live-chat.machine.js';
import { SESSION_SYSTEM_PREFIX, sessionSystemId } from './system-ids.js';
import { DEFAULT_WEB_TOOL_SETTINGS, WEB_TOOL_SYSTEM_ID, type WebToolSettings } from './web-tool-contract.js';
import { webToolMachine } from './web-tool.machine.js';
import { MEMORY_SYSTEM_ID, memoryMachine, type MemoryInput } from './memory.machine.js';
import { CLUSTER_SYSTEM_ID, clusterMachine, type ClusterInput } from './cluster.machine.js';
import { groupLinkMachine, groupLinkSystemId } from './group-link.machine.js';

/**
 * The process: an HTTP/WebSocket listener and one spawned session actor per accepted client. The actor system is
 * the registry of sessions (systemId `session:<client_uid>`), so nothing keeps a map of clients on the side.
 * A finished session is released at once; stopping the server moves every session to `disconnected` first.
 * Chat groups outlive any one member, so they are the server's children too (`group.<n>`), created on a client's
 * first invite and released when they close. The MCP tool servers shared by all sessions (`toolServers`) live as
 * long as the server serves.
 */

export type ServerEvent =
  | { type: 'http.listening'; url: string; port: number }
  | { type: 'http.failed'; message: string }
  | { type: 'client.connected'; clientUid: string; socket: ClientSocket }
  | { type: 'proxy.connected'; socket: ClientSocket }
  | { type: 'server.stop' }
  /** Across instances: a group on another instance offers one of this instance's sessions membership. */
  | { type: 'group.mail'; mail: { kind: string; from: string; group: string; uid: string; inviter?: unknown } }
  | { type: `xstate.done.actor.groupLink.${string}`; actorId: string; output?: unknown }
  | { type: `xstate.error.actor.groupLink.${string}`; actorId: string; error: unknown }
  | GroupCreateRequest
  | { type: `xstate.done.actor.group.${string}`; actorId: string; output?: unknown }
  | { type: `xstate.error.actor.group.${string}`; actorId: string; error: unknown }
  // A session that finished or failed (emitted by XState for spawned children).
  | { type: `xstate.done.actor.session.${string}`; actorId: string; output?: unknown }
  | { type: `xstate.error.actor.session.${string}`; actorId: string; error: unknown };

export interface ServerContext {
  url: string | null;
  port: number | null;
  error: string | null;
  sessionsStarted: number;
  /** Child ids `session.<n>`, reused (see id-pool.ts); the client_uid is the session's systemId. */
  sessionIds: IdPool;
  /** Child ids `group.<n>`, reused. */
  groupIds: IdPool;
  /** Child ids `groupLink.<n>` (a session's link to a group on another instance), reused. */
  linkIds: IdPool;
  proxyEnabled: boolean;
  /** system_config.max_pending_requests, for each /proxy-ws viewer too. */
  maxPending: number;
  liveChat: LiveChatInput | null;
  webTool: WebToolSettings;
  memory: MemoryInput | null;
  cluster: ClusterInput | null;
}

export interface ServerInput {
  /** system_config.enable_proxy: the `/proxy-ws` hub runs (child `proxy`) for as long as the server serves. */
  proxyEnabled?: boolean;
  /** system_config.max_pending_requests: a /proxy-ws viewer's queued input and requests at most (default 32). */
  maxPending?: number;
  /** Live-stream chat rooms whose messages feed the `/proxy-ws` session (child `liveChat`, only with the hub). */
  liveChat?: LiveChatInput | null;
  /** The bounds of `POST /asr` and `/tts-ws` (child `webTool`, as long as the server serves). */
  webTool?: WebToolSettings;
  /** Long-term memory is on (system_config.memory): its index is kept by child `memory` while the server serves. */
  memory?: MemoryInput | null;
  /** More than one instance (system_config.cluster): child `cluster` keeps the link to Redis and the census. */
  cluster?: ClusterInput | null;
}

export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    events: {} as ServerEvent,
    input: {} as ServerInput,
  },
  actors: {
    /** Owns the HTTP server and the WebSocket endpoint; reports `http.listening` and each `client.connected`. */
    httpListener: fromCallback<EventObject, void, EventObject>(() => {
      throw new Error('actor "httpListener" must be provided with machine.provide()');
    }),
    session: sessionMachine,
    group: groupMachine,
    /** Across instances: a session's link to a group that runs on another instance. */
    groupLink: groupLinkMachine,
    /** `/proxy-ws`: viewers sharing one session (system_config.enable_proxy). */
    proxyHub: proxyHubMachine,
    /** MCP tool servers kept warm for every session (mcp_servers.json entries without `per_session`). */
    toolServers: toolServersMachine,
    /** Models this server runs itself (llama_cpp_llm), one loaded copy per model file, shared by the sessions. */
    localModels: localModelsMachine,
    /** Live-stream chat (live_config.bilibili_live): each room's messages become the `/proxy-ws` session's input. */
    liveChat: liveChatMachine,
    /** `POST /asr` and `/tts-ws`, served with the default character's engines. */
    webTool: webToolMachine,
    /** Long-term memory's indexing jobs (system_config.memory). */
    memory: memoryMachine,
    /** The link to Redis and this instance's census (system_config.cluster). */
    cluster: clusterMachine,
  },
  actions: {
    releaseSession: enqueueActions(({ context, event, enqueue }) => {
      const { actorId } = event as { actorId: string };
      enqueue.assign({ sessionIds: releaseChild(enqueue, context.sessionIds, actorId) });
    }),
    releaseGroup: enqueueActions(({ context, event, enqueue }) => {
      const { actorId } = event as { actorId: string };
      enqueue.assign({ groupIds: releaseChild(enqueue, context.groupIds, actorId) });
    }),
    releaseLink: enqueueActions(({ context, event, enqueue }) => {
      const { actorId } = event as { actorId: string };
      enqueue.assign({ linkIds: releaseChild(enqueue, context.linkIds, actorId) });
    }),
    /** A group on another instance offers a session here membership: the session's link to it (if it is here). */
    linkToGroup: enqueueActions(({ context, event, system, enqueue }) => {
      if (event.type !== 'group.mail' || event.mail.kind !== 'offer' || typeof event.mail.inviter !== 'string') return;
      const { group, from, uid } = event.mail;
      if (!system.get(sessionSystemId(uid)) || system.get(groupLinkSystemId(group, uid))) return;
      const [n, linkIds] = takeId(context.linkIds);
      enqueue.assign({ linkIds });
      enqueue.spawnChild('groupLink', { id: `groupLink.${n}`, systemId: groupLinkSystemId(group, uid), input: { groupId: group, owner: from, uid, inviterUid: event.mail.inviter } });
    }),
    /** A session asked for a group: a new `group.<n>` child, owned by that session, with its first invitee. */
    spawnGroup: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'group.create') return;
      const [id, groupIds] = takeId(context.groupIds);
      enqueue.assign({ groupIds });
      enqueue.spawnChild('group', {
        id: `group.${id}`,
        input: { id: `group_${event.owner.uid}`, owner: event.owner, firstInvitee: event.inviteeUid, rules: event.rules, shared: context.cluster !== null },
      });
    }),
    /** The children that run only when configured: long-term memory, the cluster link, the proxy hub and the live chat. */
    spawnOptionalChildren: enqueueActions(({ context, enqueue }) => {
      if (context.memory) enqueue.spawnChild('memory', { id: 'memory', systemId: MEMORY_SYSTEM_ID, input: context.memory });
      if (context.cluster) enqueue.spawnChild('cluster', { id: 'cluster', systemId: CLUSTER_SYSTEM_ID, input: context.cluster });
      if (!context.proxyEnabled) return;
      enqueue.spawnChild('proxyHub', { id: 'proxy', systemId: PROXY_HUB_SYSTEM_ID, input: { instanceId: context.cluster?.instanceId ?? null, maxPendingPerViewer: context.maxPending } });
      if (context.liveChat && context.liveChat.rooms.length > 0) enqueue.spawnChild('liveChat', { id: 'liveChat', systemId: LIVE_CHAT_SYSTEM_ID, input: context.liveChat });
    }),
    /** The listener is up: its address and port are kept. */
    takeAddress: assign(({ event }) => (event.type === 'http.listening' ? { url: event.url, port: event.port } : {})),
    /** An accepted client gets its session: a `session.<n>` child registered under its client_uid. */
    spawnSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'client.connected') return;
      const [id, sessionIds] = takeId(context.sessionIds);
      enqueue.assign({ sessionsStarted: context.sessionsStarted + 1, sessionIds });
      enqueue.spawnChild('session', {
        id: `session.${id}`,
        systemId: sessionSystemId(event.clientUid),
        input: { clientUid: event.clientUid, socket: event.socket },
      });
    }),
    /** A `/proxy-ws` socket goes to the proxy hub as it came. */
    forwardToProxy: sendTo('proxy', ({ event }) => event),
    /** The listener failed: its message is kept. */
    takeError: assign({ error: ({ context, event }) => (event.type === 'http.failed' ? event.message : context.error) }),
    /** Stopping: every session is told to shut down (each moves to `disconnected`). */
    shutDownSessions: enqueueActions(({ system, enqueue }) => {
      for (const [systemId, ref] of Object.entries(system.getAll())) {
        if (systemId.startsWith(SESSION_SYSTEM_PREFIX)) enqueue.sendTo(ref, { type: 'server.shutdown' });
      }
    }),
  },
  guards: {
    /** `/proxy-ws` is on (system_config.enable_proxy). */
    proxyEnabled: ({ context }) => context.proxyEnabled,
  },
}).createMachine({
  id: 'server',
  context: ({ input }) => ({
    url: null,
    port: null,
    error: null,
    sessionsStarted: 0,
    sessionIds: emptyIdPool(),
    groupIds: emptyIdPool(),
    linkIds: emptyIdPool(),
    proxyEnabled: input?.proxyEnabled ?? false,
    maxPending: input?.maxPending ?? 32,
    liveChat: input?.liveChat ?? null,
    webTool: input?.webTool ?? DEFAULT_WEB_TOOL_SETTINGS,
    memory: input?.memory ?? null,
    cluster: input?.cluster ?? null,
  }),
  initial: 'serving',
  on: {
    // A finished session is released at once (XState keeps finished children in the snapshot until stopChild).
    'xstate.done.actor.session.*': { actions: 'releaseSession' },
    'xstate.error.actor.session.*': { actions: 'releaseSession' },
    'xstate.done.actor.group.*': { actions: 'releaseGroup' },
    'xstate.error.actor.group.*': { actions: 'releaseGroup' },
    'xstate.done.actor.groupLink.*': { actions: 'releaseLink' },
    'xstate.error.actor.groupLink.*': { actions: 'releaseLink' },
    'group.mail': { actions: 'linkToGroup' },
    'group.create': { actions: 'spawnGroup' },
  },
  states: {
    serving: {
      invoke: [
        { id: 'http', src: 'httpListener' },
        { id: 'toolServers', src: 'toolServers', systemId: TOOL_SERVERS_SYSTEM_ID },
        { id: 'localModels', src: 'localModels', systemId: LOCAL_MODELS_SYSTEM_ID },
        { id: 'webTool', src: 'webTool', systemId: WEB_TOOL_SYSTEM_ID, input: ({ context }) => context.webTool },
      ],
      // Spawned, not invoked, so it exists only when enabled; it stops with the server (a final state).
      entry: 'spawnOptionalChildren',
      initial: 'starting',
      states: {
        starting: {
          on: {
            'http.listening': { target: 'listening', actions: 'takeAddress' },
          },
        },
        listening: {},
      },
      on: {
        'client.connected': { actions: 'spawnSession' },
        'proxy.connected': { guard: 'proxyEnabled', actions: 'forwardToProxy' },
        'http.failed': { target: 'failed', actions: 'takeError' },
        'server.stop': { target: 'stopped', actions: 'shutDownSessions' },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
