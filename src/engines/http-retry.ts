import { setTimeout as wait } from 'node:timers/promises';
import { engineRequest, networkErrorDetail, type EngineRequest, type EngineResponse } from './engine-http.js';

/**
 * Retries of an engine's HTTP request, as the official SDKs users come from do (OpenAI, Anthropic: two retries
 * with backoff): a refused or reset connection, 429 and 5xx are tried again, at most `retries` times, before
 * anything of the answer was read. A streamed reply is never retried once its response was accepted (the caller
 * reads it; its failures are its own). `Retry-After` is honoured up to `maxDelayMs`. The wait between attempts
 * is cancelled by `signal` (the owning actor stopped: an interrupt, a disconnect, a deadline).
 */

export interface RetryOptions {
  /** Told about each retry (the owning actor logs it with the session's client_uid). */
  onRetry?: (message: string) => void;
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export const DEFAULT_RETRIES = 2;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

/** Network failures worth another attempt (the request did not reach a server that answered). */
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

export function isTransientNetworkError(err: unknown): boolean {
  return err !== null && typeof err === 'object' && TRANSIENT_CODES.has(networkErrorDetail(err));
}

/** The wait before retry `attempt + 1` (0-based): 0.5 s, 1 s, 2 s … up to `maxMs`. */
export function backoffMs(attempt: number, baseMs = BASE_DELAY_MS, maxMs = MAX_DELAY_MS): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501);
}

/** `Retry-After` in ms (seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** An engine request (engine-http.ts) with the retries above. Throws what it throws after the last attempt; returns the last response. */
export async function requestWithRetry(url: string, init: EngineRequest, label: string, options: RetryOptions = {}): Promise<EngineResponse> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  const base = options.baseDelayMs ?? BASE_DELAY_MS;
  const cap = options.maxDelayMs ?? MAX_DELAY_MS;
  for (let attempt = 0; ; attempt++) {
    let delay: number;
    let why: string;
    try {
      const res = await engineRequest(url, init);
      if (!isRetryableStatus(res.status) || attempt >= retries) return res;
      await res.cancel();
      const asked = retryAfterMs(res.headers.get('retry-after'));
      delay = asked === null ? backoffMs(attempt, base, cap) : Math.min(cap, asked);
      why = `HTTP ${res.status}`;
    } catch (err) {
      if (init.signal.aborted || !isTransientNetworkError(err) || attempt >= retries) throw err;
      delay = backoffMs(attempt, base, cap);
      why = networkErrorDetail(err);
    }
    options.onRetry?.(`${label}: ${why}; retry ${attempt + 1} of ${retries} in ${delay} ms`);
    await wait(delay, undefined, { signal: init.signal });
  }
}
