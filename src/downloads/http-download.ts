import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/**
 * Downloads over Node's own HTTP client, not fetch. Loading `undici` (the engines do) makes its Agent fetch's global
 * dispatcher, and undici 7 dies on an uncatchable `assert(!this.paused)` when a server ends a response by closing
 * the connection (HTTP/1.0, python's http.server) while a slow reader has paused the body (nodejs/undici#5360).
 * node:http stops reading the socket instead of pausing its parser, so a close-delimited body under backpressure
 * just ends. Every failure here reaches the caller as an error: none is thrown from a socket's event handler.
 */

export const MAX_REDIRECTS = 5;
/** Like undici's default headers and body timeouts: a server silent this long (while we are not the slow side) fails. */
export const IDLE_TIMEOUT_MS = 300_000;

export type HttpDownloadFailure = 'network' | 'status' | 'redirect';

/** No usable answer: `network` (refused, reset, timed out, not HTTP…), `status` (not 2xx) or `redirect` (loop, bad Location). */
export class HttpDownloadError extends Error {
  override name = 'HttpDownloadError';

  constructor(
    readonly kind: HttpDownloadFailure,
    /** The URL of the request that failed (after the redirects followed so far). */
    readonly url: string,
    /** The short reason: a system code (ECONNREFUSED), the redirect problem, or the status line. */
    readonly detail: string,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(`${url}: ${detail}`, options);
  }
}

export interface DownloadOptions {
  signal?: AbortSignal;
  maxRedirects?: number;
  idleTimeoutMs?: number;
}

export interface DownloadResponse {
  /** Where the body comes from, after redirects. */
  url: string;
  status: number;
  /** Content-Length, when the server sent one. */
  total: number | undefined;
  /**
   * The body. It errors when the connection breaks before the body is whole (short of Content-Length, cut chunked
   * body, or a reset of a close-delimited one) and, on abort, with the signal's reason.
   */
  body: Readable;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function systemDetail(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : String(e.message ?? err);
}

/** One GET; resolves with the response once its headers are in. */
function get(url: URL, signal: AbortSignal | undefined, idleTimeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const client = url.protocol === 'https:' ? https : http;
    // agent: false gives the download its own connection, closed when it ends (nothing pooled to go stale).
    const req = client.get(url, { agent: false, headers: { 'user-agent': 'vtuber-actor-server', accept: '*/*' } });
    let res: IncomingMessage | undefined;
    const onAbort = () => {
      const reason: unknown = signal?.reason ?? new Error('aborted');
      if (res) res.destroy(reason as Error);
      else req.destroy(reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);

    req.on('error', (err) => {
      if (!res) {
        done();
        if (signal?.aborted) reject(signal.reason);
        else reject(new HttpDownloadError('network', url.href, systemDetail(err), undefined, { cause: err }));
        return;
      }
      // A reset ends a close-delimited body as if it were whole; fail it instead (a length-delimited one too).
      if (!res.complete) res.destroy(err);
    });
    req.setTimeout(idleTimeoutMs, () => {
      // Data waiting in the body means the reader is behind, not the server: wait on.
      if (res && res.readableLength > 0) return void req.setTimeout(idleTimeoutMs);
      const err = Object.assign(new Error(`no data for ${idleTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' });
      if (res) res.destroy(err);
      else req.destroy(err);
    });
    req.on('response', (response) => {
      res = response;
      // Errors before the reader attaches (or after it left) must not be unhandled.
      response.on('error', () => undefined);
      response.once('close', done);
      resolve(response);
    });
  });
}

/**
 * GETs `url`, following up to `maxRedirects` redirects (to any host, http or https), and hands back the body of the
 * 2xx answer to stream. Rejects with an HttpDownloadError, or with the signal's reason once it is aborted.
 */
export async function openDownload(url: string, options: DownloadOptions = {}): Promise<DownloadResponse> {
  const { signal, maxRedirects = MAX_REDIRECTS, idleTimeoutMs = IDLE_TIMEOUT_MS } = options;
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new HttpDownloadError('network', url, 'not a URL');
  }
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw new HttpDownloadError(hop === 0 ? 'network' : 'redirect', current.href, `unsupported protocol ${current.protocol}`);
    }
    const res = await get(current, signal, idleTimeoutMs);
    const status = res.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      res.destroy();
      const location = res.headers.location;
      if (!location) throw new HttpDownloadError('redirect', current.href, `HTTP ${status} without a Location`, status);
      if (hop >= maxRedirects) throw new HttpDownloadError('redirect', current.href, `more than ${maxRedirects} redirects`, status);
      if (!URL.canParse(location, current)) throw new HttpDownloadError('redirect', current.href, `HTTP ${status} to a bad Location ${location}`, status);
      current = new URL(location, current);
      continue;
    }
    if (status < 200 || status > 299) {
      res.destroy();
      throw new HttpDownloadError('status', current.href, `HTTP ${status}`, status);
    }
    const length = Number(res.headers['content-length']);
    return { url: current.href, status, total: Number.isSafeInteger(length) && length > 0 ? length : undefined, body: res };
  }
}

/** A small text body (a checksum file): at most `limit` bytes are kept. */
export async function downloadText(url: string, options: DownloadOptions = {}, limit = 64 * 1024): Promise<string> {
  const { body } = await openDownload(url, options);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
