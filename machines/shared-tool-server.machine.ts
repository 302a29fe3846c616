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
        'shared.list': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (context.tools) enqueue.sendTo(event.replyTo, { type: 'mcp.ready', server: context.name, tools: context.tools } satisfies McpEvent);
            else enqueue.assign({ listeners: [...context.listeners, event.replyTo] });
          }),
        },
        'shared.call': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            enqueue.sendTo('process', { type: 'mcp.call', callId: event.callId, tool: event.tool, args: event.args } satisfies McpCommand);
            enqueue.assign({ calls: { ...context.calls, [event.callId]: event.replyTo } });
          }),
        },
        'shared.cancel': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (!context.calls[event.callId]) return;
            enqueue.sendTo('process', { type: 'mcp.cancel', callId: event.callId } satisfies McpCommand);
            const { [event.callId]: _cancelled, ...calls } = context.calls;
            enqueue.assign({ calls });
          }),
        },
        'mcp.ready': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            for (const listener of context.listeners.filter(alive)) enqueue.sendTo(listener, event);
            enqueue.assign({ tools: event.tools, listeners: [] });
          }),
        },
        'mcp.result': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const replyTo = context.calls[event.callId];
            if (!replyTo) return; // cancelled: its caller is gone
            if (alive(replyTo)) enqueue.sendTo(replyTo, event);
            const { [event.callId]: _answered, ...calls } = context.calls;
            enqueue.assign({ calls });
          }),
        },
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
