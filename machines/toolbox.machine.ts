import { enqueueActions, fromCallback, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { ToolDefinition } from '../src/engines/llm/llm-request.js';
import type { McpServerSpec } from '../src/mcp/mcp-server-spec.js';
import { toolDefinitions, type McpToolInfo } from '../src/mcp/tool-catalog.js';
import type { McpBounds, McpCommand, McpEvent, McpServerInput } from './mcp-server-protocol.js';
import { TOOL_SERVERS_SYSTEM_ID, type ToolServersEvent } from './tool-servers.machine.js';

/**
 * A session's MCP tools, invoked by the session while it is `active`: leaving `active` (switch-config, disconnect)
 * stops it and every child it has, one per server in use:
 *
 * - a server shared by all sessions (the default) is reached through a `sharedServerLink` child, which passes calls
 *   to the server's `toolServers` pool and owns them: stopping it (interrupt, switch, disconnect) cancels them at
 *   the server, and the warm process stays for the next session;
 * - a `per_session: true` server is an `mcpServer` child owning its process group, ended with the session
 *   (docs/upstream-defects.md, U2). Without a pool in the actor system (a toolbox on its own) every server is per
 *   session.
 *
 * Servers start lazily: a tool list already discovered for the same configuration (by any session, also after this one
 * started) is answered at once without starting anything (docs/upstream-defects.md, U3); a server starts when a turn
 * needs its unknown tool list or calls one of its tools. A server that exits is restarted by the next call. Turns talk
 * to it with `tools.list` / `tool.call` / `tool.cancel`, naming an actor to answer (`tools.listed`, `tool.result`).
 */

/** Tool lists by server configuration, shared by all sessions (src/mcp/tool-list-cache.ts). */
export interface ToolListStore {
  get(spec: McpServerSpec): McpToolInfo[] | undefined;
  put(spec: McpServerSpec, tools: McpToolInfo[]): void;
}

export interface ToolboxInput {
  clientUid: string;
  servers: Record<string, McpServerSpec>;
  toolLists: ToolListStore;
  /** system_config.mcp_start_timeout_seconds: starting a server (a first npx/uvx start may download packages). */
  startTimeoutMs: number;
  /** system_config.mcp_call_timeout_seconds: one tool call. */
  callTimeoutMs: number;
}

/** A shared server as one session sees it: commands and events of an `mcpServer`, carried to and from the pool. */
export interface SharedServerLinkInput {
  name: string;
  spec: McpServerSpec;
  bounds: McpBounds;
  knownTools?: McpToolInfo[];
  pool: AnyActorRef;
}

interface PendingCall {
  server: string;
  replyTo: AnyActorRef;
}

export interface ToolboxContext extends ToolboxInput {
  /** Tool lists known (from the store or discovered), by server name. */
  known: Record<string, McpToolInfo[]>;
  running: Record<string, boolean>;
  /** Why a server could not start, until the next attempt; `reported` once a turn has shown it. */
  failures: Record<string, { message: string; reported: boolean }>;
  listeners: AnyActorRef[];
  calls: Record<string, PendingCall>;
}

export type ToolboxEvent =
  | { type: 'tools.list'; replyTo: AnyActorRef }
  | { type: 'tool.call'; callId: string; server: string; tool: string; args: Record<string, unknown>; replyTo: AnyActorRef }
  | { type: 'tool.cancel'; callId: string }
  /** From its children (`mcpServer` or `sharedServerLink`). */
  | McpEvent;

/** Answers to the actors named in `replyTo`. */
export type ToolboxReply =
  | { type: 'tools.listed'; tools: ToolDefinition[]; problems: string[] }
  | { type: 'tool.result'; callId: string; content: string; isError: boolean };

const childId = (server: string) => `mcp:${server}`;

const listComplete = (context: ToolboxContext) =>
  Object.keys(context.servers).every((name) => context.known[name] !== undefined || context.failures[name] !== undefined);

const toolboxSetup = setup({
  types: {
    context: {} as ToolboxContext,
    events: {} as ToolboxEvent,
    input: {} as ToolboxInput,
  },
  actors: {
    mcpServer: fromCallback<McpCommand, McpServerInput>(() => {
      throw new Error('actor "mcpServer" must be provided with machine.provide()');
    }),
    /**
     * A shared server's stand-in: the toolbox talks to it as to an `mcpServer`; it carries the commands to the pool
     * (replies come back to it) and, when stopped, cancels at the server the calls still in flight.
     */
    sharedServerLink: fromCallback<McpCommand | McpEvent, SharedServerLinkInput>(({ input, self, sendBack, receive }) => {
      const target = { server: input.name, spec: input.spec, bounds: input.bounds, knownTools: input.knownTools };
      const inFlight = new Set<string>();
      const toPool = (event: ToolServersEvent) => {
        if (input.pool.getSnapshot().status === 'active') input.pool.send(event);
      };
      if (!input.knownTools) toPool({ type: 'toolServers.list', ...target, replyTo: self });
      receive((event) => {
        switch (event.type) {
          case 'mcp.call':
            inFlight.add(event.callId);
            toPool({ type: 'toolServers.call', ...target, callId: event.callId, tool: event.tool, args: event.args, replyTo: self });
            return;
          case 'mcp.cancel':
            if (inFlight.delete(event.callId)) toPool({ type: 'toolServers.cancel', spec: input.spec, callId: event.callId });
            return;
          case 'mcp.result':
            if (inFlight.delete(event.callId)) sendBack(event);
            return;
          default:
            sendBack(event); // mcp.ready / mcp.failed of the tool list
        }
      });
      return () => {
        for (const callId of inFlight) toPool({ type: 'toolServers.cancel', spec: input.spec, callId });
      };
    }),
  },
  actions: {
    /** Starts the child for a server: a link to its shared process, or a process of this session's own. */
    startServer: enqueueActions(({ context, system, enqueue }, params: { server: string; knownTools?: McpToolInfo[] }) => {
      const spec = context.servers[params.server]!;
      const bounds = { startTimeoutMs: context.startTimeoutMs, callTimeoutMs: context.callTimeoutMs };
      const pool = spec.per_session ? undefined : (system.get(TOOL_SERVERS_SYSTEM_ID) as AnyActorRef | undefined);
      const id = childId(params.server);
      const { server: name, knownTools } = params;
      if (pool) enqueue.spawnChild('sharedServerLink', { id, input: { name, spec, bounds, knownTools, pool } });
      else enqueue.spawnChild('mcpServer', { id, input: { name, spec, clientUid: context.clientUid, ...bounds, knownTools } });
    }),
    /** Keeps a discovered tool list for every later session with the same server configuration. */
    rememberTools: ({ context }, params: { spec: McpServerSpec; tools: McpToolInfo[] }) => context.toolLists.put(params.spec, params.tools),
    /** Cancels a call at its server (when that is running) and forgets it; an unknown call is ignored. */
    cancelCall: enqueueActions(({ context, enqueue }, params: { callId: string }) => {
      const call = context.calls[params.callId];
      if (!call) return;
      if (context.running[call.server]) enqueue.sendTo(childId(call.server), { type: 'mcp.cancel', callId: params.callId });
      const { [params.callId]: _cancelled, ...calls } = context.calls;
      enqueue.assign({ calls });
    }),
    /** Passes a call's result to its turn and forgets the call. */
    deliverResult: enqueueActions(({ context, enqueue }, params: Extract<McpEvent, { type: 'mcp.result' }>) => {
      const call = context.calls[params.callId];
      if (!call) return; // cancelled: its turn is gone
      enqueue.sendTo(call.replyTo, { type: 'tool.result', callId: params.callId, content: params.content, isError: params.isError } satisfies ToolboxReply);
      const { [params.callId]: _answered, ...calls } = context.calls;
      enqueue.assign({ calls });
    }),
    /** Answers every turn waiting for the list, once each server's list is known or has failed. */
    answerListeners: enqueueActions(({ context, enqueue }) => {
      if (context.listeners.length === 0 || !listComplete(context)) return;
      const tools = toolDefinitions(Object.fromEntries(Object.keys(context.servers).map((name) => [name, context.known[name]])));
      const problems = Object.values(context.failures)
        .filter((f) => !f.reported)
        .map((f) => f.message);
      // A turn that stopped while waiting (interrupt) is not answered.
      for (const listener of context.listeners.filter((l) => l.getSnapshot().status === 'active')) enqueue.sendTo(listener, { type: 'tools.listed', tools, problems } satisfies ToolboxReply);
      enqueue.assign({
        listeners: [],
        failures: Object.fromEntries(Object.entries(context.failures).map(([name, f]) => [name, { ...f, reported: true }])),
      });
    }),
    /** A server that failed to start or exited: its calls get an error now, and the next use starts it again. */
    serverGone: enqueueActions(({ context, enqueue }, params: { server: string; message: string }) => {
      if (!context.running[params.server]) return;
      enqueue.stopChild(childId(params.server));
      const calls: Record<string, PendingCall> = {};
      for (const [callId, call] of Object.entries(context.calls)) {
        if (call.server !== params.server) calls[callId] = call;
        else enqueue.sendTo(call.replyTo, { type: 'tool.result', callId, content: `Error: ${params.message}`, isError: true } satisfies ToolboxReply);
      }
      const failures =
        context.known[params.server] === undefined ? { ...context.failures, [params.server]: { message: params.message, reported: false } } : context.failures;
      enqueue.assign({ running: { ...context.running, [params.server]: false }, calls, failures });
    }),
  },
})
  // Actions that enqueue `startServer` or `rememberTools`: with their own params spelled out here, `enqueue` knows the
  // params of those (inside `setup` it cannot).
  .extend<{
    requestToolLists: { replyTo: AnyActorRef };
    placeCall: Extract<ToolboxEvent, { type: 'tool.call' }>;
    keepToolList: { server: string; tools: McpToolInfo[] };
  }>({
    actions: {
      /**
       * A turn asks for the tool list: it waits for it, with each server's list taken from the store or, when still
       * unknown, discovered by starting the server.
       */
      requestToolLists: enqueueActions(({ context, enqueue }, params) => {
        const running = { ...context.running };
        const failures = { ...context.failures };
        const known = { ...context.known };
        for (const [name, spec] of Object.entries(context.servers)) {
          if (known[name] !== undefined || running[name]) continue;
          // Discovered by another session since this one started: nothing to start.
          const stored = context.toolLists.get(spec);
          if (stored) {
            known[name] = stored;
            delete failures[name];
            continue;
          }
          // An unknown list: start the server to discover it (a past failure is tried again).
          delete failures[name];
          running[name] = true;
          enqueue({ type: 'startServer', params: { server: name } });
        }
        enqueue.assign({ known, running, failures, listeners: [...context.listeners, params.replyTo] });
      }),
      /** Sends a call to its server's child, starting the server first if needed; a call to an unknown server gets an error. */
      placeCall: enqueueActions(({ context, enqueue }, params) => {
        const spec = context.servers[params.server];
        if (!spec) {
          enqueue.sendTo(params.replyTo, { type: 'tool.result', callId: params.callId, content: `Error: there is no tool server "${params.server}"`, isError: true } satisfies ToolboxReply);
          return;
        }
        if (!context.running[params.server]) {
          enqueue({ type: 'startServer', params: { server: params.server, knownTools: context.known[params.server] ?? context.toolLists.get(spec) } });
          enqueue.assign({ running: { ...context.running, [params.server]: true } });
        }
        enqueue.sendTo(childId(params.server), { type: 'mcp.call', callId: params.callId, tool: params.tool, args: params.args });
        enqueue.assign({ calls: { ...context.calls, [params.callId]: { server: params.server, replyTo: params.replyTo } } });
      }),
      /** Keeps a server's tool list; one discovered for the first time is stored for later sessions too. */
      keepToolList: enqueueActions(({ context, enqueue }, params) => {
        if (context.known[params.server] === undefined) {
          enqueue({ type: 'rememberTools', params: { spec: context.servers[params.server]!, tools: params.tools } });
        }
        enqueue.assign({ known: { ...context.known, [params.server]: params.tools } });
      }),
    },
  });

export const toolboxMachine = toolboxSetup.createMachine({
  id: 'toolbox',
  context: ({ input }) => {
    const known: Record<string, McpToolInfo[]> = {};
    for (const [name, spec] of Object.entries(input.servers)) {
      const tools = input.toolLists.get(spec);
      if (tools) known[name] = tools;
    }
    return { ...input, known, running: {}, failures: {}, listeners: [], calls: {} };
  },
  on: {
    'tools.list': { actions: [{ type: 'requestToolLists', params: ({ event }) => ({ replyTo: event.replyTo }) }, 'answerListeners'] },
    'tool.call': { actions: { type: 'placeCall', params: ({ event }) => event } },
    'tool.cancel': { actions: { type: 'cancelCall', params: ({ event }) => ({ callId: event.callId }) } },
    'mcp.ready': { actions: [{ type: 'keepToolList', params: ({ event }) => ({ server: event.server, tools: event.tools }) }, 'answerListeners'] },
    'mcp.result': { actions: { type: 'deliverResult', params: ({ event }) => event } },
    'mcp.failed': { actions: [{ type: 'serverGone', params: ({ event }) => ({ server: event.server, message: event.message }) }, 'answerListeners'] },
    'mcp.exited': {
      actions: [{ type: 'serverGone', params: ({ event }) => ({ server: event.server, message: `tool server "${event.server}" exited` }) }, 'answerListeners'],
    },
  },
});

export type ToolboxActor = ActorRefFrom<typeof toolboxMachine>;
