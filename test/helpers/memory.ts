import { waitFor, type AnyActorRef } from 'xstate';
import { MEMORY_SYSTEM_ID } from '../../machines/memory.machine.js';
import type { HistoryStore } from '../../src/history/history-store.js';

/** Resolves once every history write so far is on disk and the memory actor has no job left: its index caught up. */
export async function memoryCaughtUp(server: { history: HistoryStore; actor: AnyActorRef }): Promise<void> {
  await server.history.flush();
  await waitFor(server.actor.system.get(MEMORY_SYSTEM_ID) as AnyActorRef, (s) => s.matches('idle') && s.context.queue.length === 0);
}

/** The system messages of a chat request's body, as one text (where recalled memories are put). */
export const systemText = (body: { messages: Array<{ role: string; content: unknown }> }): string =>
  body.messages.filter((m) => m.role === 'system').map((m) => String(m.content)).join('\n');
