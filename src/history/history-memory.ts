import type { ChatMessage } from '../agent/chat-memory.js';
import type { HistoryMessage } from './history-format.js';

/**
 * A stored conversation as agent memory (docs/protocol.md, 'Memory'; docs/upstream-defects.md, U38): `human` → user, `ai` →
 * assistant, and `system` entries (the interrupt marker) as the model sees them live — a system or user note
 * according to the provider's interrupt method — never as words the assistant said.
 */
export function memoryFromHistory(messages: readonly HistoryMessage[], interruptMethod: 'system' | 'user'): ChatMessage[] {
  const memory: ChatMessage[] = [];
  for (const m of messages) {
    if (typeof m.content !== 'string' || m.content === '') continue;
    memory.push({ role: m.role === 'human' ? 'user' : m.role === 'ai' ? 'assistant' : interruptMethod, content: m.content });
  }
  return memory;
}

/** The `history-data` messages: what the chat shows (system entries removed, no metadata). */
export function historyDataMessages(messages: readonly HistoryMessage[]): HistoryMessage[] {
  return messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({
      role: m.role,
      timestamp: m.timestamp,
      content: m.content,
      ...(m.name !== undefined ? { name: m.name } : {}),
      ...(m.avatar !== undefined ? { avatar: m.avatar } : {}),
    }));
}
