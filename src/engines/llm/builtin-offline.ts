import { setTimeout as delay } from 'node:timers/promises';
import { elizaReply, type ElizaPersona } from './eliza.js';
import type { LlmEngine } from '../../../machines/engine-contracts.js';

/**
 * `builtin_offline_llm`: the ELIZA-style talker, streamed a word at a time like a real model (so the whole
 * pipeline — sentence splitting, expressions, TTS, interrupts — behaves as it will with an LLM).
 */
export function builtinOfflineEngine(persona: ElizaPersona, tokenDelayMs: number): LlmEngine {
  return {
    provider: 'builtin_offline_llm',
    toolStyle: 'none',
    async stream(request, onText, signal) {
      const reply = elizaReply(request.userText, request.memory, persona);
      for (const token of reply.match(/\S+\s*/g) ?? []) {
        if (tokenDelayMs > 0) await delay(tokenDelayMs, undefined, { signal });
        signal.throwIfAborted();
        onText(token);
      }
    },
  };
}
