import { enqueueActions, fromCallback, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { ToolDefinition } from '../src/engines/llm/llm-engine.js';
import type { McpServerSpec } from '../src/mcp/mcp-servers-file.js';
import type { McpCommand, McpServerInput } from '../src/mcp/mcp-server-actor.js';
import { toolDefinitions, type McpToolInfo } from '../src/mcp/tool-catalog.js';

/**
 * A session's MCP tools, invoked by the session while it is `active`: leaving `active` (switch-config, disconnect)
 * stops it, and with it every `mcpServer` child and that server's whole process group (D3, D4).
 *
 * Servers start lazily: a tool list already discovered for the same configuration (by any session) is answered at
 * once without starting anything (D34); a server starts when a turn needs its unknown tool list or calls one of its
 * tools. A server that exits is restarted by the next call. Turns talk to it with `tools.list` / `tool.call` /
 * `tool.cancel`, naming an actor to answer (`tools.listed`, `tool.result`).
 */

/** Tool lists by server configuration, shared by all sessions (src/mcp/tool-catalog.ts). */
export interface ToolListStore {
  get(spec: McpServerSpec): McpToolInfo[] | undefined;
  put(spec: McpServerSpec, tools: McpToolInfo[]): void;
}

export interface ToolboxInput {
  clientUid: string;
  servers: Record<string, McpServerSpec>;
  toolLists: ToolListStore;
  callTimeoutMs: number;
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
  | { type: 'mcp.ready'; server: string; tools: McpToolInfo[] }
  | { type: 'mcp.failed'; server: string; message: string }
  | { type: 'mcp.result'; server: string; callId: string; content: string; isError: boolean }
  | { type: 'mcp.exited'; server: string };

/** Answers to the actors named in `replyTo`. */
export type ToolboxReply =
  | { type: 'tools.listed'; tools: ToolDefinition[]; problems: string[] }
  | { type: 'tool.result'; callId: string; content: string; isError: boolean };

const childId = (server: string) => `mcp:${server}`;

const listComplete = (context: ToolboxContext) =>
  Object.keys(context.servers).every((name) => context.known[name] !== undefined || context.failures[name] !== undefined);

export const toolboxMachine = setup({
  types: {
    context: {} as ToolboxContext,
    events: {} as ToolboxEvent,
    input: {} as ToolboxInput,
  },
  actors: {
    mcpServer: fromCallback<McpCommand, McpServerInput>(() => {
      throw new Error('actor "mcpServer" must be provided with machine.provide()');
    }),
  },
  actions: {
    /** Keeps a discovered tool list for every later session with the same server configuration. */
    rememberTools: ({ context }, params: { spec: McpServerSpec; tools: McpToolInfo[] }) => context.toolLists.put(params.spec, params.tools),
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
}).createMachine({
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
    'tools.list': {
      actions: [
        enqueueActions(({ context, event, enqueue }) => {
          const running = { ...context.running };
          const failures = { ...context.failures };
          for (const [name, spec] of Object.entries(context.servers)) {
            if (context.known[name] !== undefined || running[name]) continue;
            // An unknown list: start the server to discover it (a past failure is tried again).
            delete failures[name];
            running[name] = true;
            enqueue.spawnChild('mcpServer', { id: childId(name), input: { name, spec, clientUid: context.clientUid, callTimeoutMs: context.callTimeoutMs } });
          }
          enqueue.assign({ running, failures, listeners: [...context.listeners, event.replyTo] });
        }),
        'answerListeners',
      ],
    },
    'tool.call': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const spec = context.servers[event.server];
        if (!spec) {
          enqueue.sendTo(event.replyTo, { type: 'tool.result', callId: event.callId, content: `Error: there is no tool server "${event.server}"`, isError: true } satisfies ToolboxReply);
          return;
        }
        if (!context.running[event.server]) {
          enqueue.spawnChild('mcpServer', {
            id: childId(event.server),
            input: { name: event.server, spec, clientUid: context.clientUid, callTimeoutMs: context.callTimeoutMs, knownTools: context.known[event.server] },
          });
          enqueue.assign({ running: { ...context.running, [event.server]: true } });
        }
        enqueue.sendTo(childId(event.server), { type: 'mcp.call', callId: event.callId, tool: event.tool, args: event.args });
        enqueue.assign({ calls: { ...context.calls, [event.callId]: { server: event.server, replyTo: event.replyTo } } });
      }),
    },
    'tool.cancel': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const call = context.calls[event.callId];
        if (!call) return;
        if (context.running[call.server]) enqueue.sendTo(childId(call.server), { type: 'mcp.cancel', callId: event.callId });
        const { [event.callId]: _cancelled, ...calls } = context.calls;
        enqueue.assign({ calls });
      }),
    },
    'mcp.ready': {
      actions: [
        enqueueActions(({ context, event, enqueue }) => {
          if (context.known[event.server] === undefined) {
            enqueue({ type: 'rememberTools', params: { spec: context.servers[event.server]!, tools: event.tools } });
          }
          enqueue.assign({ known: { ...context.known, [event.server]: event.tools } });
        }),
        'answerListeners',
      ],
    },
    'mcp.result': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const call = context.calls[event.callId];
        if (!call) return; // cancelled: its turn is gone
        enqueue.sendTo(call.replyTo, { type: 'tool.result', callId: event.callId, content: event.content, isError: event.isError } satisfies ToolboxReply);
        const { [event.callId]: _answered, ...calls } = context.calls;
        enqueue.assign({ calls });
      }),
    },
    'mcp.failed': { actions: [{ type: 'serverGone', params: ({ event }) => ({ server: event.server, message: event.message }) }, 'answerListeners'] },
    'mcp.exited': {
      actions: [{ type: 'serverGone', params: ({ event }) => ({ server: event.server, message: `tool server "${event.server}" exited` }) }, 'answerListeners'],
    },
  },
});

export type ToolboxActor = ActorRefFrom<typeof toolboxMachine>;
