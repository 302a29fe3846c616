import { requestWithRetry, type RetryOptions } from '../http-retry.js';
import { networkErrorDetail, type EngineResponse } from '../engine-http.js';
import { z } from 'zod';
import type { EventSourceMessage } from 'eventsource-parser';
import { createParser } from 'eventsource-parser';
import { decodeAudio, type AudioHint } from '../../audio/decode-audio.js';
import type { PcmAudio } from '../../audio/pcm-audio.js';
import { DEFAULT_ENGINE_DEADLINES } from '../../../machines/engine-deadlines.js';

/**
 * The one way HTTP speech engines talk to their services: the actor's signal closes the request (an interrupt
 * closes it at the server), every request has a deadline, and every failure is one message naming the engine and
 * what the service answered ("gpt_sovits_tts: HTTP 400 {…}").
 */

/** Default bound on one synthesis request (connect, answer and body), unless the engine is given another. */
export const DEFAULT_SPEECH_TIMEOUT_MS = DEFAULT_ENGINE_DEADLINES.synthesisMs;

/** A failure of a speech or translation service, worded for the user. */
export class SpeechServiceError extends Error {
  override name = 'SpeechServiceError';
}

export interface ServiceRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Sent as JSON (with its content-type). */
  json?: unknown;
  /** Sent as is (set the content-type yourself). */
  body?: string;
}

const EXCERPT = 300;

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT)}…` : flat;
}

/**
 * Runs `work` with a signal that aborts when the caller's does or when `timeoutMs` passes; the timer is cleared
 * however it ends. A caller's abort is rethrown as it is; the deadline becomes a SpeechServiceError.
 */
export async function withDeadline<T>(
  engine: string,
  signal: AbortSignal,
  timeoutMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new SpeechServiceError(`${engine}: no answer within ${Math.round(timeoutMs / 100) / 10} s`));
  }, timeoutMs);
  try {
    return await work(controller.signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    if (timedOut) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Sends the request; a network failure or a non-2xx answer becomes one SpeechServiceError with the service's words. */
export async function callService(engine: string, request: ServiceRequest, signal: AbortSignal, retry: RetryOptions = {}): Promise<EngineResponse> {
  const headers = { ...(request.json !== undefined ? { 'content-type': 'application/json' } : {}), ...request.headers };
  const body = request.json !== undefined ? JSON.stringify(request.json) : request.body;
  let res: EngineResponse;
  try {
    // A refused connection, 429 or 5xx is tried again (twice, with backoff) before it counts as a failure.
    res = await requestWithRetry(request.url, { method: request.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, signal }, engine, retry);
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    throw new SpeechServiceError(`${engine}: cannot reach ${new URL(request.url).origin} (${networkErrorDetail(err)})`);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new SpeechServiceError(`${engine}: HTTP ${res.status} ${excerpt(text) || res.statusText}`);
  }
  return res;
}

/** The whole body; a connection that breaks before its end is a failure, not a shorter sound. */
export async function readBody(engine: string, res: EngineResponse, signal: AbortSignal): Promise<Buffer> {
  try {
    return Buffer.from(await res.arrayBuffer());
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    throw new SpeechServiceError(`${engine}: the answer was cut off (${networkErrorDetail(err)})`);
  }
}

/** Feeds each server-sent event to `onEvent` until it returns 'done'; a stream that ends without it is cut off. */
export async function readServiceEvents(
  engine: string,
  res: EngineResponse,
  signal: AbortSignal,
  onEvent: (event: EventSourceMessage) => 'continue' | 'done',
  options: { endIsDone?: boolean } = {},
): Promise<void> {
  let done = false;
  let failure: unknown;
  const parser = createParser({
    onEvent(event) {
      if (done || failure) return;
      try {
        if (onEvent(event) === 'done') done = true;
      } catch (err) {
        failure = err instanceof SpeechServiceError ? err : new SpeechServiceError(`${engine}: sent a malformed event (${(err as Error).message})`);
      }
    },
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (failure) throw failure;
      if (done) return;
    }
    parser.feed(decoder.decode());
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    if (err instanceof SpeechServiceError) throw err;
    throw new SpeechServiceError(`${engine}: the stream was cut off (${networkErrorDetail(err)})`);
  } finally {
    if (!done && !signal.aborted) await res.cancel();
  }
  if (failure) throw failure;
  if (!done && !options.endIsDone) throw new SpeechServiceError(`${engine}: the stream was cut off before its end`);
}

/** The service answered JSON where audio was expected: its words, for the error. */
function jsonInsteadOfAudio(engine: string, res: EngineResponse, bytes: Buffer): SpeechServiceError | undefined {
  if (!/json|text\/plain|text\/html/i.test(res.headers.get('content-type') ?? '')) return undefined;
  return new SpeechServiceError(`${engine}: answered ${res.headers.get('content-type')} instead of audio: ${excerpt(bytes.toString('utf8'))}`);
}

/** Decodes an engine's audio, naming the engine when the bytes are not audio we can read. */
export async function decodeServiceAudio(engine: string, bytes: Buffer, hint: AudioHint = {}): Promise<PcmAudio> {
  if (bytes.length === 0) throw new SpeechServiceError(`${engine}: answered no audio`);
  try {
    return await decodeAudio(bytes, hint);
  } catch (err) {
    throw new SpeechServiceError(`${engine}: ${(err as Error).message}`);
  }
}

/** One request whose answer is a sound file (WAV, MP3, or raw PCM when `hint` says so). */
export async function synthesizeOverHttp(
  engine: string,
  request: ServiceRequest,
  signal: AbortSignal,
  options: { timeoutMs?: number; hint?: AudioHint } = {},
): Promise<PcmAudio> {
  const bytes = await withDeadline(engine, signal, options.timeoutMs ?? DEFAULT_SPEECH_TIMEOUT_MS, async (bounded) => {
    const res = await callService(engine, request, bounded);
    const body = await readBody(engine, res, bounded);
    const notAudio = jsonInsteadOfAudio(engine, res, body);
    if (notAudio) throw notAudio;
    return body;
  });
  return decodeServiceAudio(engine, bytes, options.hint);
}

/** Settings every HTTP engine takes besides its own. */
export interface HttpEngineOptions {
  timeoutMs?: number;
}

/** A config value that must be an http(s) URL (checked when the character loads, not at the first sentence). */
export const httpUrl = (fallback: string) =>
  z
    .string()
    .refine((value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'expected an http(s) URL')
    .default(fallback);
