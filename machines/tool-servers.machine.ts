import { enqueueActions, setup, stopChild, type AnyActorRef } from 'xstate';
import type { McpBounds } from './mcp-server-protocol.js';
import { sharedToolServerMachine, type SharedToolServerCommand } from './shared-tool-server.machine.js';
import type { McpServerSpec } from '../src/mcp/mcp-server-spec.js';
import type { McpToolInfo } from '../src/mcp/tool-catalog.js';

/**
 * The server's shared tool servers (docs/decisions.md, 12): invoked by the server machine while it serves (systemId
 * `toolServers`), so no session owns them and server shutdown ends them all. Each server configuration of
 * mcp_servers.json without `per_session: true` runs as at most one `sharedToolServer` child, started by the first
 * call or tool-list request and stopped by its idle bound; a child that ended (idle, crashed) is replaced by a new
 * one on the next request. Sessions reach it through their toolbox's `sharedServerLink` children, which own their
 * calls: a link that stops cancels its calls here.
 */

export const TOOL_SERVERS_SYSTEM_ID = 'toolServers';

interface Target {
  /** The server's name in mcp_servers.json. */
  server: string;
  spec: McpServerSpec;
  bounds: McpBounds;
  /** A tool list already discovered for this configuration: the process does not ask for it again. */
  knownTools?: McpToolInfo[];
}

export type ToolServersEvent =
  | ({ type: 'toolServers.list'; replyTo: AnyActorRef } & Target)
  | ({ type: 'toolServers.call'; callId: string; tool: string; args: Record<string, unknown>; replyTo: AnyActorRef } & Target)
  | { type: 'toolServers.cancel'; spec: McpServerSpec; callId: string }
  | { type: `xstate.done.actor.shared.${string}`; actorId: string; output?: unknown }
  | { type: `xstate.error.actor.shared.${string}`; actorId: string; error: unknown };

export interface ToolServersContext {
  /** Child id (`shared.<n>`) of the running server, by configuration key. */
  running: Record<string, string>;
  /** Ids are never reused: a finished child may still be listed until it is released. */
  started: number;
}

/** One warm process per configuration: the same command, arguments, environment, folder and call bound. */
export function sharedServerKey(spec: McpServerSpec): string {
  return JSON.stringify([spec.command, spec.args, spec.env ?? {}, spec.cwd ?? '', spec.timeout ?? null]);
}

export const toolServersMachine = setup({
  types: {
    context: {} as ToolServersContext,
    events: {} as ToolServersEvent,
  },
  actors: {
    sharedToolServer: sharedToolServerMachine,
  },
  actions: {
    release: enqueueActions(({ context, event, enqueue }) => {
      const { actorId } = event as { actorId: string };
      enqueue(stopChild(actorId));
      enqueue.assign({ running: Object.fromEntries(Object.entries(context.running).filter(([, id]) => id !== actorId)) });
    }),
    /** Passes a request to the configuration's running server, starting one first if there is none (or it ended). */
    route: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'toolServers.list' && event.type !== 'toolServers.call') return;
      const key = sharedServerKey(event.spec);
      let id = context.running[key];
      const child = id ? (self.getSnapshot().children[id] as AnyActorRef | undefined) : undefined;
      if (!child || child.getSnapshot().status !== 'active') {
        id = `shared.${context.started}`;
        enqueue.spawnChild('sharedToolServer', {
          id,
          input: { name: event.server, spec: event.spec, ...event.bounds, knownTools: event.knownTools },
        });
        enqueue.assign({ running: { ...context.running, [key]: id }, started: context.started + 1 });
      }
      const command: SharedToolServerCommand =
        event.type === 'toolServers.list'
          ? { type: 'shared.list', replyTo: event.replyTo }
          : { type: 'shared.call', callId: event.callId, tool: event.tool, args: event.args, replyTo: event.replyTo };
      enqueue.sendTo(id!, command);
    }),
    /** Passes a cancel to the configuration's server, if it is still running. */
    cancelCall: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'toolServers.cancel') return;
      const id = context.running[sharedServerKey(event.spec)];
      const child = id ? (self.getSnapshot().children[id] as AnyActorRef | undefined) : undefined;
      if (child?.getSnapshot().status === 'active') enqueue.sendTo(child, { type: 'shared.cancel', callId: event.callId } satisfies SharedToolServerCommand);
    }),
  },
}).createMachine({
  id: 'toolServers',
  context: { running: {}, started: 0 },
  on: {
    'toolServers.list': { actions: 'route' },
    'toolServers.call': { actions: 'route' },
    'toolServers.cancel': { actions: 'cancelCall' },
    // A server that went idle or crashed is released at once; the next request starts a fresh one.
    'xstate.done.actor.shared.*': { actions: 'release' },
    'xstate.error.actor.shared.*': { actions: 'release' },
  },
});
