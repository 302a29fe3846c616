import type { AnyActorRef, InspectionEvent } from 'xstate';
import { actorKind, type ActorCensus } from './actor-census.js';

/** One connected session as the live sessions page shows it. */
export interface SessionView {
  clientUid: string;
  /** The state value, dotted: `active.responding`. */
  state: string;
  /** Every state node that is active, from the root: `["active", "active.responding"]`. */
  activePaths: string[];
  character: string | null;
  turns: number;
  /** text-input → first audio frame of the last text turn, in ms. */
  lastTurnMs: number | null;
  children: Array<{ id: string; kind: string }>;
  /** The MCP servers this session has in use: its own process (`per_session`) or a link to a shared one. */
  toolServers: Array<{ name: string; scope: 'shared' | 'per_session' }>;
}

/** A tool server kept warm for every session (owned by the server, not by a session). */
export interface SharedToolServerView {
  name: string;
  /** `busy` (calls in flight or a tool list awaited) or `idle` (counting down to its idle stop). */
  state: string;
  calls: number;
}

/** A toolbox's children `mcp:<name>`: an `mcpServer` owns a process of the session's, a `sharedServerLink` does not. */
function toolServersOf(toolbox: AnyActorRef | undefined): SessionView['toolServers'] {
  const children = (toolbox?.getSnapshot() as { children?: Record<string, AnyActorRef> } | undefined)?.children ?? {};
  return Object.entries(children)
    .filter(([id]) => id.startsWith('mcp:'))
    .map(([id, child]) => ({ name: id.slice(4), scope: actorKind(child) === 'mcpServer' ? 'per_session' : 'shared' }));
}

export function stateString(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([key, sub]) => [key, ...stateString(sub).map((s) => `${key}.${s}`)]);
  }
  return [];
}

interface Tracked {
  ref: AnyActorRef;
  textInputAt?: number;
  lastTurnMs: number | null;
}

/**
 * The live view of every session, kept from the inspection stream (the same one the census and the metrics read):
 * sessions appear when their actor is created and disappear when it stops.
 */
export class SessionBoard {
  private readonly sessions = new Map<string, Tracked>();
  private readonly sharedToolServers = new Map<string, AnyActorRef>();
  private listeners = new Set<() => void>();

  constructor(census: ActorCensus) {
    census.subscribe((ev) => this.observe(ev));
  }

  private observe(ev: InspectionEvent): void {
    const ref = ev.actorRef as AnyActorRef;
    if (ev.type === '@xstate.actor') {
      const kind = actorKind(ref);
      if (kind === 'session') this.sessions.set(ref.sessionId, { ref, lastTurnMs: null });
      else if (kind === 'sharedToolServer') this.sharedToolServers.set(ref.sessionId, ref);
      this.changed();
      return;
    }
    if (ev.type === '@xstate.snapshot') {
      if ((ev.snapshot as { status?: string }).status !== 'active') {
        this.sessions.delete(ref.sessionId);
        this.sharedToolServers.delete(ref.sessionId);
      }
      this.changed();
      return;
    }
    if (ev.type !== '@xstate.event') return;
    const tracked = this.sessions.get(ref.sessionId);
    if (!tracked) return;
    const event = ev.event as { type: string; frame?: { type?: string } };
    if (event.type === 'client.text-input') tracked.textInputAt = performance.now();
    else if (event.type === 'turn.frame' && event.frame?.type === 'audio' && tracked.textInputAt !== undefined) {
      tracked.lastTurnMs = Math.round((performance.now() - tracked.textInputAt) * 10) / 10;
      tracked.textInputAt = undefined;
    }
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** Called (synchronously) after every change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  views(): SessionView[] {
    return [...this.sessions.values()].map(({ ref, lastTurnMs }) => {
      const snapshot = ref.getSnapshot() as {
        value: unknown;
        children: Record<string, AnyActorRef>;
        context: { clientUid: string; turns: number; character: { config: { conf_name: string } } | null };
      };
      const activePaths = stateString(snapshot.value);
      return {
        clientUid: snapshot.context.clientUid,
        state: activePaths[activePaths.length - 1] ?? '',
        activePaths,
        character: snapshot.context.character?.config.conf_name ?? null,
        turns: snapshot.context.turns,
        lastTurnMs,
        children: Object.entries(snapshot.children).map(([id, child]) => ({ id, kind: actorKind(child) })),
        toolServers: toolServersOf(snapshot.children.toolbox),
      };
    });
  }

  /** The shared tool servers running now. */
  toolServers(): SharedToolServerView[] {
    return [...this.sharedToolServers.values()].map((ref) => {
      const snapshot = ref.getSnapshot() as { value: unknown; context: { name: string; calls: Record<string, unknown> } };
      const paths = stateString(snapshot.value);
      return { name: snapshot.context.name, state: (paths.at(-1) ?? '').replace(/^running\./, ''), calls: Object.keys(snapshot.context.calls).length };
    });
  }
}
