import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../../observability/logger.js';
import type { LlmEngine, LlmRequest } from './llm-engine.js';

/**
 * The turn's `llmStream` slot: streams `llm.delta` events, then `llm.done` or `llm.error`. Its cleanup aborts the
 * request, so leaving the turn's `thinking` state (interrupt, disconnect…) closes the HTTP connection at once.
 */
export function createLlmStream(logger: Logger) {
  return fromCallback<EventObject, { engine: unknown; request: LlmRequest; clientUid: string }, EventObject>(({ input, sendBack }) => {
    const controller = new AbortController();
    const engine = input.engine as LlmEngine;
    engine
      .stream(input.request, (text) => sendBack({ type: 'llm.delta', text }), controller.signal)
      .then(
        () => {
          if (!controller.signal.aborted) sendBack({ type: 'llm.done' });
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          const message = err instanceof Error ? err.message : String(err);
          logger.child({ client_uid: input.clientUid }).warn(`${engine.provider} failed: ${message}`);
          sendBack({ type: 'llm.error', message });
        },
      );
    return () => controller.abort();
  });
}
