import type { AnyActorRef, InspectionEvent } from 'xstate';

/**
 * Live actors, counted from XState inspection events: an actor is added when it is created and removed when its
 * snapshot leaves `active` (done, error or stopped). Pass `census.observe` as `inspect` to `createActor` so the root
 * and the actors of its first state are seen too (an inspector attached later misses the actors created with it).
 */
export class ActorCensus {
  private readonly live = new Map<string, AnyActorRef>();
  private listeners: Array<(ev: InspectionEvent) => void> = [];

  readonly observe = (ev: InspectionEvent): void => {
    if (ev.type === '@xstate.actor') this.live.set(ev.actorRef.sessionId, ev.actorRef as AnyActorRef);
    else if (ev.type === '@xstate.snapshot' && (ev.snapshot as { status?: string }).status !== 'active') {
      this.live.delete(ev.actorRef.sessionId);
    }
    for (const listener of this.listeners) listener(ev);
  };

  /** Extra inspection consumers (tests, the sessions page); returns the unsubscribe function. */
  subscribe(listener: (ev: InspectionEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  count(): number {
    return this.live.size;
  }

  /** Live actors grouped by kind: the actor's logic name in `setup({ actors })`, or the machine id for a root. */
  byKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const ref of this.live.values()) {
      const kind = actorKind(ref);
      out[kind] = (out[kind] ?? 0) + 1;
    }
    return out;
  }

  /** Live actors other than the given kinds (e.g. everything but the server and its listener). */
  countExcept(kinds: readonly string[]): number {
    let n = 0;
    for (const ref of this.live.values()) if (!kinds.includes(actorKind(ref))) n++;
    return n;
  }
}

export function actorKind(ref: AnyActorRef): string {
  const src = (ref as { src?: unknown }).src;
  if (typeof src === 'string') return src;
  const logicId = (ref as { logic?: { id?: unknown } }).logic?.id;
  return typeof logicId === 'string' ? logicId : 'anonymous';
}
