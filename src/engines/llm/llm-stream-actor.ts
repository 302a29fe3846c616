import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../../observability/logger.js';
import { ToolsUnsupportedError, type LlmEngine, type LlmRequest } from './llm-engine.js';

/**
 * The turn's `llmStream` slot: streams `llm.delta` events, then `llm.done` (with the tool calls the model asked for)
 * or `llm.error` (saying whether the model refused tools). Its cleanup aborts the
 * request, so leaving the turn's `thinking` state (interrupt, disconnect…) closes the HTTP connection at once.
 */
export function createLlmStream(logger: Logger) {
  return fromCallback<EventObject, { engine: unknown; request: LlmRequest; clientUid: string }, EventObject>(({ input, sendBack }) => {
    const controller = new AbortController();
    const engine = input.engine as LlmEngine;
    const log = logger.child({ client_uid: input.clientUid });
    engine
      .stream(input.request, (text) => sendBack({ type: 'llm.delta', text }), controller.signal, { onRetry: (message) => log.warn(message) })
      .then(
        (end) => {
          if (!controller.signal.aborted) sendBack({ type: 'llm.done', toolCalls: end?.toolCalls ?? [] });
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          const message = err instanceof Error ? err.message : String(err);
          log.warn(`${engine.provider} failed: ${message}`);
          sendBack({ type: 'llm.error', message, toolsUnsupported: err instanceof ToolsUnsupportedError });
        },
      );
    return () => controller.abort();
  });
}
