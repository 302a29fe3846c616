import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { bodyText, describeNetworkError, LlmError, readErrorBody } from './llm-engine.js';
import { requestWithRetry } from '../http-retry.js';
import type { EngineResponse } from '../engine-http.js';
import type { EngineCallOptions } from '../../../machines/engine-contracts.js';

/** What one server-sent event means to a provider: read on, the reply is complete, or the stream reports a failure. */
export type StreamStep = 'continue' | 'done' | LlmError;

/**
 * POSTs a streaming request; network failures and HTTP errors become LlmErrors with a message a person can act on.
 * A refused or reset connection, 429 and 5xx are retried before the stream is read (http-retry.ts), never after.
 * An abort through `signal` is rethrown as it is.
 */
export async function postEventStream(
  url: string,
  provider: string,
  init: { headers: Record<string, string>; body: unknown },
  signal: AbortSignal,
  options: EngineCallOptions = {},
): Promise<EngineResponse> {
  let res: EngineResponse;
  try {
    res = await requestWithRetry(url, { method: 'POST', headers: init.headers, body: JSON.stringify(init.body), signal }, provider, options);
  } catch (err) {
    if (signal.aborted) throw err;
    throw describeNetworkError(err, url);
  }
  if (!res.ok) throw new LlmError(`${provider} answered HTTP ${res.status}: ${await readErrorBody(res)}`);
  return res;
}

/** Feeds each server-sent event of `res` to `onEvent` until it says the reply is complete or failed. */
export async function readEventStream(res: EngineResponse, onEvent: (event: EventSourceMessage) => StreamStep): Promise<void> {
  let finished = false;
  let failure: LlmError | undefined;
  const parser = createParser({
    onEvent(event) {
      if (finished || failure) return;
      const step = onEvent(event);
      if (step === 'done') finished = true;
      else if (step instanceof LlmError) failure = step;
    },
  });
  for await (const text of bodyText(res)) {
    parser.feed(text);
    if (failure) throw failure;
    if (finished) break;
  }
  if (failure) throw failure;
}
