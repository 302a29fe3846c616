import { enqueueActions, fromCallback, not, setup, type AnyActorRef } from 'xstate';
import type { McpCommand, McpEvent, McpServerInput } from './mcp-server-protocol.js';
import type { McpToolInfo } from '../src/mcp/tool-catalog.js';

/**
 * One tool server of mcp_servers.json kept warm for every session: a child of the server's `toolServers` pool, it
 * owns one `sharedMcpServer` process and passes the sessions' calls through it (MCP answers concurrent requests on
 * one connection; each reply goes to the caller named in the call).
 *
 *   running.idle ⇄ running.busy → stopped (final)
 *
 * `idle` (no call in flight, nobody waiting for the tool list) lasts at most `idleStop`, then the process group is
 * ended. A process that exits or cannot start ends this actor too: the calls in flight get an error result, and the
 * pool starts a new one on the next call.
 */

export type SharedToolServerInput = Omit<McpServerInput, 'clientUid'>;

export interface SharedToolServerContext extends SharedToolServerInput {
  /** The tool list once the server answered it. */
  tools: McpToolInfo[] | null;
  /** Calls in flight: who gets each answer. */
  calls: Record<string, AnyActorRef>;
  /** Waiting for the tool list. */
  listeners: AnyActorRef[];
}

/** From callers (through the pool). Answers are `McpEvent`s sent to `replyTo`. */
export type SharedToolServerCommand =
  | { type: 'shared.list'; replyTo: AnyActorRef }
  | { type: 'shared.call'; callId: string; tool: string; args: Record<string, unknown>; replyTo: AnyActorRef }
  | { type: 'shared.cancel'; callId: string };

export type SharedToolServerEvent = SharedToolServerCommand | McpEvent;

const alive = (ref: AnyActorRef) => ref.getSnapshot().status === 'active';

export const sharedToolServerMachine = setup({
  types: {
    context: {} as SharedToolServerContext,
    events: {} as SharedToolServerEvent,
    input: {} as SharedToolServerInput,
  },
  actors: {
    /** The process (src/mcp/mcp-server-actor.ts); its kind tells shared processes from per-session ones in metrics. */
    sharedMcpServer: fromCallback<McpCommand, McpServerInput>(() => {
      throw new Error('actor "sharedMcpServer" must be provided with machine.provide()');
    }),
  },
  delays: {
    /** system_config.mcp_idle_stop_seconds (provided by the server). */
    idleStop: 600_000,
  },
  guards: {
    inUse: ({ context }) => Object.keys(context.calls).length > 0 || context.listeners.length > 0,
  },
  actions: {
    /** Answers with the tool list when it is known; otherwise the caller waits for it. */
    answerList: enqueueActions(({ context, enqueue }, params: Extract<SharedToolServerCommand, { type: 'shared.list' }>) => {
      if (context.tools) enqueue.sendTo(params.replyTo, { type: 'mcp.ready', server: context.name, tools: context.tools } satisfies McpEvent);
      else enqueue.assign({ listeners: [...context.listeners, params.replyTo] });
    }),
    /** Passes a call to the process and notes who gets its answer. */
    forwardCall: enqueueActions(({ context, enqueue }, params: Extract<SharedToolServerCommand, { type: 'shared.call' }>) => {
      enqueue.sendTo('process', { type: 'mcp.call', callId: params.callId, tool: params.tool, args: params.args } satisfies McpCommand);
      enqueue.assign({ calls: { ...context.calls, [params.callId]: params.replyTo } });
    }),
    /** Cancels a call in flight at the process and forgets its caller (an unknown call is ignored). */
    cancelCall: enqueueActions(({ context, enqueue }, params: Extract<SharedToolServerCommand, { type: 'shared.cancel' }>) => {
      if (!context.calls[params.callId]) return;
      enqueue.sendTo('process', { type: 'mcp.cancel', callId: params.callId } satisfies McpCommand);
      const { [params.callId]: _cancelled, ...calls } = context.calls;
      enqueue.assign({ calls });
    }),
    /** Keeps the tool list the server answered and passes it to everyone waiting for it. */
    deliverTools: enqueueActions(({ context, enqueue }, params: Extract<McpEvent, { type: 'mcp.ready' }>) => {
      for (const listener of context.listeners.filter(alive)) enqueue.sendTo(listener, params);
      enqueue.assign({ tools: params.tools, listeners: [] });
    }),
    /** Passes a call's answer to its caller, if that is still there, and forgets the call. */
    deliverResult: enqueueActions(({ context, enqueue }, params: Extract<McpEvent, { type: 'mcp.result' }>) => {
      const replyTo = context.calls[params.callId];
      if (!replyTo) return; // cancelled: its caller is gone
      if (alive(replyTo)) enqueue.sendTo(replyTo, params);
      const { [params.callId]: _answered, ...calls } = context.calls;
      enqueue.assign({ calls });
    }),
    /** The process is gone: every caller still waiting is answered with the error. */
    answerAllWithError: enqueueActions(({ context, enqueue }, params: { message: string }) => {
      for (const [callId, replyTo] of Object.entries(context.calls)) {
        if (alive(replyTo)) {
          enqueue.sendTo(replyTo, { type: 'mcp.result', server: context.name, callId, content: `Error: ${params.message}`, isError: true } satisfies McpEvent);
        }
      }
      for (const listener of context.listeners.filter(alive)) {
        enqueue.sendTo(listener, { type: 'mcp.failed', server: context.name, message: params.message } satisfies McpEvent);
      }
      enqueue.assign({ calls: {}, listeners: [] });
    }),
  },
}).createMachine({
  id: 'sharedToolServer',
  context: ({ input }) => ({ ...input, tools: input.knownTools ?? null, calls: {}, listeners: [] }),
  initial: 'running',
  states: {
    running: {
      invoke: {
        id: 'process',
        src: 'sharedMcpServer',
        input: ({ context }) => ({
          name: context.name,
          spec: context.spec,
          clientUid: 'tool-servers',
          startTimeoutMs: context.startTimeoutMs,
          callTimeoutMs: context.callTimeoutMs,
          knownTools: context.knownTools,
        }),
      },
      initial: 'busy',
      states: {
        busy: { always: { guard: not('inUse'), target: 'idle' } },
        idle: {
          always: { guard: 'inUse', target: 'busy' },
          after: { idleStop: '#sharedToolServer.stopped' },
        },
      },
      on: {
        'shared.list': { actions: { type: 'answerList', params: ({ event }) => event } },
        'shared.call': { actions: { type: 'forwardCall', params: ({ event }) => event } },
        'shared.cancel': { actions: { type: 'cancelCall', params: ({ event }) => event } },
        'mcp.ready': { actions: { type: 'deliverTools', params: ({ event }) => event } },
        'mcp.result': { actions: { type: 'deliverResult', params: ({ event }) => event } },
        'mcp.failed': { target: 'stopped', actions: { type: 'answerAllWithError', params: ({ event }) => ({ message: event.message }) } },
        'mcp.exited': {
          target: 'stopped',
          actions: { type: 'answerAllWithError', params: ({ context }) => ({ message: `tool server "${context.name}" exited` }) },
        },
      },
    },
    stopped: { type: 'final' },
  },
});
