import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { createActor, raise, waitFor, type Actor, type InspectionEvent } from 'xstate';
import { serverMachine } from '../../machines/server.machine.js';
import { SESSION_SYSTEM_PREFIX } from '../../machines/system-ids.js';
import { sessionMachine } from '../../machines/session.machine.js';
import type { AppConfig } from '../config/app-config.js';
import { ActorCensus } from '../observability/actor-census.js';
import { createMetrics } from '../observability/metrics.js';
import { SessionBoard } from '../observability/session-board.js';
import { machineToJson } from '../tools/machine-export.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { buildCharacterRuntime } from '../session/character-runtime.js';
import { createSessionActors } from '../session/session-actors.js';
import { groupMachine } from '../../machines/group.machine.js';
import { groupConversationMachine } from '../../machines/group-conversation.machine.js';
import { createTranscribe } from '../engines/asr/transcribe-actor.js';
import { proxyHubMachine } from '../../machines/proxy-hub.machine.js';
import { groupLinkMachine } from '../../machines/group-link.machine.js';
import { SERVER_SYSTEM_ID } from '../../machines/system-ids.js';
import { createProxyBridge } from '../proxy/proxy-bridge.js';
import { ProxyLink } from '../proxy/proxy-link.js';
import { createViewerSocket } from '../proxy/viewer-socket-actor.js';
import { outboundBounds } from './outbound-gate.js';
import { createHttpListener } from './http-listener.js';
import type { HistoryStore } from '../history/history-store.js';
import { serverHistoryStore } from './history-wiring.js';
import { OllamaModelsInUse, unloadOllamaModels } from '../engines/llm/ollama-unload.js';
import { toolServersMachine } from '../../machines/tool-servers.machine.js';
import { sharedToolServerMachine } from '../../machines/shared-tool-server.machine.js';
import { localModelsMachine } from '../../machines/local-models.machine.js';
import { localModelMachine } from '../../machines/local-model.machine.js';
import { createLlamaModelActor } from '../engines/llama/llama-model-actor.js';
import { createMcpServerActor } from '../mcp/mcp-server-actor.js';
import { ToolProcesses } from '../mcp/tool-processes.js';
import { closeSherpaHosts, isPreparable } from '../engines/sherpa/sherpa-hosts.js';
import { closeProgramLauncher } from '../engines/program-launcher.js';
import { OnceLog } from '../observability/once-log.js';
import type { ModelBoard } from '../downloads/model-board.js';
import { ToolListCache } from '../mcp/tool-list-cache.js';
import { createLiveChat, liveChatInput, type LiveChatOptions } from '../live/live-chat-actors.js';
import { createWebTool, webToolSettings } from '../web-tool/web-tool-actors.js';
import { MemoryIndex } from '../memory/memory-index.js';
import { createMemoryJob, createRecallMemories, memoryEmbedder, memoryInput } from '../memory/memory-actors.js';
import { createDistil } from '../memory/memory-extract.js';
import { MEMORY_SYSTEM_ID, memoryMachine, type MemoryEvent } from '../../machines/memory.machine.js';

export type SessionActorOverrides = Partial<ReturnType<typeof createSessionActors>>;

export interface StartOptions {
  app: AppConfig;
  /** Defaults to system_config.host / port. */
  host?: string;
  port?: number;
  logger?: Logger;
  /** Replaces session actor implementations: the edge where tests inject a slow or failing engine. */
  sessionActors?: SessionActorOverrides;
  /** The models the first start downloads in the background: engines waiting for them say where they stand. */
  models?: ModelBoard;
  /** Also receives every inspection event (the census always does). */
  inspect?: (ev: InspectionEvent) => void;
  /** Where the live-stream chat connects and how soon it reconnects (tests point it at a fake danmaku server). */
  liveChat?: LiveChatOptions;
}

export interface RunningServer {
  url: string;
  wsUrl: string;
  port: number;
  actor: Actor<typeof serverMachine>;
  census: ActorCensus;
  /** chat_history/ of this server. */
  history: HistoryStore;
  /** Long-term memory's index (system_config.memory.enabled). */
  memory?: MemoryIndex;
  /** Live session actors, from the actor system's registry. */
  sessionCount(): number;
  /** Moves every session to `disconnected`, closes the listener, and resolves once the HTTP server has closed. */
  stop(): Promise<void>;
}

/** The kinds of the server's own long-lived actors (shared tool servers included): everything else a client caused. */
export const SERVER_ACTOR_KINDS = ['server', 'httpListener', 'proxyHub', 'toolServers', 'sharedToolServer', 'sharedMcpServer', 'localModels', 'localModel', 'modelProcess', 'webTool', 'webToolCache', 'cacheFolder', 'liveChat', 'liveRoom', 'roomSocket', 'memory', 'runJob', 'embeddingModel', 'cluster', 'redisConnection', 'publishCensus', 'proxyLease', 'acquire', 'renew'] as const;

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { app } = options;
  const logger = options.logger ?? createLogger();
  const census = new ActorCensus();
  if (options.inspect) census.subscribe(options.inspect);

  let httpClosed!: () => void;
  const closed = new Promise<void>((resolve) => (httpClosed = resolve));
  let actor: Actor<typeof serverMachine> | undefined;
  const sessionCount = () =>
    actor ? Object.keys(actor.system.getAll()).filter((id) => id.startsWith(SESSION_SYSTEM_PREFIX)).length : 0;

  // conf.yaml's character and its engines, built once; what the user should know about them is said once.
  const toolLists = new ToolListCache();
  const ollamaModels = new OllamaModelsInUse();
  const models = options.models;
  const baseCharacter = await buildCharacterRuntime(app, app.baseCharacter, toolLists, { logger, ollamaModels, models });
  const warnedOnce = new OnceLog();
  for (const warning of baseCharacter.runtime.warnings) if (warnedOnce.first(baseCharacter.file, warning)) logger.warn(`${baseCharacter.file}: ${warning}`);
  for (const note of baseCharacter.runtime.notes ?? []) if (warnedOnce.first(baseCharacter.file, note)) logger.info(`${baseCharacter.file}: ${note}`);
  // Local models (sherpa-onnx) download and load now, not on the first voice turn.
  for (const engine of [baseCharacter.runtime.asr, baseCharacter.runtime.tts]) if (isPreparable(engine)) engine.prepare(logger);
  // Long-term memory: every history written or deleted is (re)indexed by the server's `memory` child.
  const memoryIndex = app.system.memory.enabled ? new MemoryIndex(app.paths.chatHistory) : undefined;
  const toMemory = (event: MemoryEvent) => {
    if (actor?.getSnapshot().status === 'active') actor.system.get(MEMORY_SYSTEM_ID)?.send(event);
  };
  // More than one instance (system_config.cluster): loaded only then, so one instance loads no Redis code.
  const instanceId = app.system.cluster?.instance_id ?? `${os.hostname()}-${process.pid}`;
  const cluster = app.system.cluster
    ? (await import('../cluster/cluster-setup.js')).clusterSetup(app.system.cluster, instanceId, logger, {
        url: () => actor?.getSnapshot().context.url ?? null,
        sessions: () => board.views(),
        historyRoot: app.paths.chatHistory,
        learnHistory: (confUid, historyUid, deleted) => void history.learn(confUid, historyUid, deleted).catch(() => undefined),
        proxy: app.system.enable_proxy,
      })
    : undefined;
  const history = serverHistoryStore(app.paths.chatHistory, {
    ...(memoryIndex ? { memory: toMemory } : {}),
    ...(cluster ? { cluster: { lock: cluster.historyLock, announce: cluster.announceHistory } } : {}),
  });
  // Tool server process groups being ended; stop() waits for them.
  const toolProcesses = new ToolProcesses();
  const { embedder, embeddingModel } = memoryIndex ? memoryEmbedder(app, logger) : {};
  const recallMemories = memoryIndex ? createRecallMemories(memoryIndex, logger, embedder) : undefined;
  const sessionActors = { ...createSessionActors({ app, logger, baseCharacter, history, toolLists, ollamaModels, models, toolProcesses, warnedOnce, recallMemories }), ...options.sessionActors };
  const toolServers = toolServersMachine.provide({
    actors: {
      sharedToolServer: sharedToolServerMachine.provide({
        actors: { sharedMcpServer: createMcpServerActor(logger, toolProcesses) },
        delays: { idleStop: app.system.mcp_idle_stop_seconds * 1000 },
      }),
    },
  });
  const session = sessionMachine.provide({ actors: sessionActors });
  const group = groupMachine.provide({
    actors: {
      conversation: groupConversationMachine.provide({ actors: { turn: sessionActors.turn, transcription: transcriptionMachine.provide({ actors: { transcribe: createTranscribe(logger) } }) } }),
      ...(cluster ? { remoteMember: cluster.groupPeers.remoteMember, record: cluster.groupPeers.record } : {}),
    },
  });
  // A session's link to a group on another instance runs that member's turns here, as the group would.
  const groupLink = groupLinkMachine.provide({ actors: { turn: sessionActors.turn, ...(cluster ? { wire: cluster.groupPeers.wire } : {}) } });
  const proxyHub = proxyHubMachine.provide({
    actors: {
      session: sessionMachine.provide({ actors: { ...sessionActors, socketBridge: createProxyBridge() } }),
      viewer: createViewerSocket(logger, app.system.ws_ping_interval_seconds * 1000, outboundBounds(app.system.ws_max_buffered_bytes)),
      ...cluster?.proxyPeers,
    },
    actions: { newUpstream: raise(({ self }) => ({ type: 'upstream.link', uid: `proxy-${randomUUID()}`, link: new ProxyLink(self) })) },
    delays: { turnBound: app.system.proxy_turn_timeout_seconds * 1000, requestBound: app.system.proxy_request_timeout_seconds * 1000 },
  });
  const board = new SessionBoard(census);
  const metrics = createMetrics(census, sessionCount, instanceId);
  const httpListener = createHttpListener({
    app,
    host: options.host ?? app.system.host,
    port: options.port ?? app.system.port,
    logger,
    health: () => ({ instance_id: instanceId, sessions: sessionCount(), actors: census.countExcept(SERVER_ACTOR_KINDS) }),
    metrics: metrics.render,
    instanceId,
    sessions: { board, sessionMachineJson: machineToJson(sessionMachine), isPublic: app.system.sessions_page_public, instanceId, ...(cluster ? { instances: cluster.instances, groups: cluster.groups } : {}) },
    memory: { isPublic: app.system.sessions_page_public, ...(memoryIndex ? { index: memoryIndex } : {}) },
    onClosed: () => httpClosed(),
  });

  const localModels = localModelsMachine.provide({
    actors: { localModel: localModelMachine.provide({ actors: { modelProcess: createLlamaModelActor(logger) } }) },
  });
  // The web tool serves with conf.yaml's character's engines, the ones built above.
  const { asr, asrUnavailable, tts } = baseCharacter.runtime;
  const webTool = createWebTool({ app, logger, engines: async () => ({ asr, asrUnavailable, tts }) });
  const liveChat = createLiveChat(app, logger, options.liveChat);
  // memory.extract learns with conf.yaml's character's model, whichever character the conversation was with.
  const distil = app.system.memory.extract ? createDistil(baseCharacter.runtime.llm) : undefined;
  const memory = memoryIndex
    ? memoryMachine.provide({ actors: { runJob: createMemoryJob(memoryIndex, logger, { distil, embedder }), ...(embeddingModel ? { embeddingModel } : {}) } })
    : memoryMachine;
  actor = createActor(serverMachine.provide({ actors: { httpListener, session, group, groupLink, proxyHub, toolServers, localModels, webTool, liveChat, memory, ...(cluster ? { cluster: cluster.machine } : {}) } }), {
    systemId: SERVER_SYSTEM_ID,
    inspect: census.observe,
    input: {
      proxyEnabled: app.system.enable_proxy,
      maxPending: app.system.max_pending_requests,
      webTool: webToolSettings(app),
      liveChat: liveChatInput(app, logger),
      memory: memoryIndex ? memoryInput(app) : null,
      cluster: cluster?.input ?? null,
    },
  });
  actor.start();
  const ready = await waitFor(actor, (s) => s.matches({ serving: 'listening' }) || s.status !== 'active');
  if (ready.status !== 'active') {
    await closed;
    throw new Error(ready.context.error ?? 'the server stopped while starting');
  }
  const url = ready.context.url!;
  const running = actor;
  let stopping: Promise<void> | undefined;
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/client-ws`,
    port: ready.context.port!,
    actor: running,
    census,
    history,
    ...(memoryIndex ? { memory: memoryIndex } : {}),
    sessionCount,
    stop() {
      stopping ??= (async () => {
        running.send({ type: 'server.stop' });
        running.stop();
        // Sessions are gone; the words of their last turns are still being written, tool servers still ending. Ollama
        // models of `unload_at_exit` are unloaded meanwhile, within their own bound.
        const unloading = unloadOllamaModels(ollamaModels.list(), app.system.ollama_unload_timeout_seconds * 1000, logger);
        await Promise.all([closed, history.flush(), toolProcesses.drain(), unloading, closeSherpaHosts(), closeProgramLauncher()]);
        // The memory child stopped with the server (its job abandoned); the index files are closed last.
        memoryIndex?.close();
      })();
      return stopping;
    },
  };
}
