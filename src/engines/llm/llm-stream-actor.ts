import { setTimeout as wait } from 'node:timers/promises';
import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../../observability/logger.js';
import { backoffMs, DEFAULT_RETRIES, isTransientNetworkError } from '../http-retry.js';
import { LlmError, ToolsUnsupportedError } from './llm-engine.js';
import { modelLeases } from './model-lease.js';
import type { LlmEngine, LlmStreamInput } from '../../../machines/engine-contracts.js';
import { errorText } from '../../../machines/error-text.js';

/**
 * The turn's `llmStream` slot: streams `llm.delta` events, then `llm.done` (with the tool calls the model asked for)
 * or `llm.error` (saying whether the model refused tools). Its cleanup aborts the
 * request, so leaving the turn's `thinking` state (interrupt, disconnect…) closes the HTTP connection at once.
 */
export function createLlmStream(logger: Logger) {
  return fromCallback<EventObject, LlmStreamInput, EventObject>(({ input, sendBack, receive, system, self }) => {
    const controller = new AbortController();
    // Engines that run a model in this server borrow a sequence of it for this reply (answers arrive here).
    const localModels = modelLeases(system, self);
    receive((event) => localModels.onReply(event));
    const { engine } = input;
    const log = logger.child({ client_uid: input.clientUid });
    const onRetry = (message: string) => log.warn(message);
    // Failures at request time are retried inside the engine (http-retry.ts). A connection that breaks after the
    // answer began but before its first token is retried here, as a whole new request; never once output was streamed.
    const attempt = async (n: number): ReturnType<LlmEngine['stream']> => {
      let streamed = false;
      try {
        return await engine.stream(input.request, (text) => ((streamed = true), sendBack({ type: 'llm.delta', text })), controller.signal, { onRetry, localModels });
      } catch (err) {
        if (controller.signal.aborted || streamed || n >= DEFAULT_RETRIES || !isTransientNetworkError(err)) throw err;
        const delay = backoffMs(n);
        onRetry(`${engine.provider}: the answer broke off before its first token; retry ${n + 1} of ${DEFAULT_RETRIES} in ${delay} ms`);
        await wait(delay, undefined, { signal: controller.signal });
        return attempt(n + 1);
      }
    };
    attempt(0)
      .then(
        (end) => {
          if (!controller.signal.aborted) sendBack({ type: 'llm.done', toolCalls: end?.toolCalls ?? [] });
        },
        (err: unknown) => {
          if (controller.signal.aborted) return;
          const message = errorText(err);
          log.warn(`${engine.provider} failed: ${message}`);
          sendBack({
            type: 'llm.error',
            message,
            toolsUnsupported: err instanceof ToolsUnsupportedError,
            ...(err instanceof LlmError && err.code ? { code: err.code } : {}),
          });
        },
      );
    return () => {
      controller.abort();
      localModels.releaseAll();
    };
  });
}
