import { STATUS_CODES } from 'node:http';
import { Agent, interceptors, request, type Dispatcher, type FormData } from 'undici';

/**
 * The HTTP client of the engines (LLM, speech synthesis and recognition, translation): undici's `request` on one
 * keep-alive agent that follows redirects as fetch does. Not the global `fetch`: two requests stand between a finished
 * sentence and its first audio frame (the chat completion, the synthesis), and fetch's WHATWG layers (Request,
 * Headers, web streams) made each cost more than the loopback hops themselves — `npm run bench:engine-http` measures
 * the work before a request leaves at 0.64 ms with fetch and 0.29 ms here, a synthesis round trip at 2.1 and 1.3 ms,
 * and page opens (`bench:pageopen`) got their first audio about 1 ms sooner. Responses keep the part of fetch's
 * Response the engines read, under the same names.
 *
 * The agent is the process's connection pool to the engines' services, like fetch's global dispatcher: every
 * request on it is owned by the actor whose signal it carries (stopping the actor aborts it), and idle
 * connections neither hold the process nor outlive their keep-alive.
 */

export interface EngineRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A form is undici's FormData (multipart, with its boundary). */
  body?: string | Buffer | FormData;
  signal: AbortSignal;
}

/** What the engines read of an answer (the names are fetch's, for what they mean there). */
export interface EngineResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  /** The body as it arrives. */
  readonly body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Drops what is left of the body (its connection is closed, not reused); resolves once it is. */
  cancel(): Promise<void>;
}

/** A request that did not get an answer: refused, reset, timed out, unknown host… `code` is the system's or undici's. */
export class EngineNetworkError extends Error {
  override name = 'EngineNetworkError';
  readonly code: string | undefined;

  constructor(url: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    super(`${new URL(url).origin}: ${typeof code === 'string' ? code : (cause as Error).message}`, { cause });
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** The short reason of a network failure, for a message: its code (ECONNREFUSED, UND_ERR_SOCKET…) or its words. */
export function networkErrorDetail(err: unknown): string {
  const withCode = err as { code?: unknown; cause?: { code?: unknown; message?: unknown }; message?: unknown };
  if (typeof withCode.code === 'string') return withCode.code;
  if (typeof withCode.cause?.code === 'string') return withCode.cause.code;
  if (typeof withCode.cause?.message === 'string') return withCode.cause.message;
  return String(withCode.message ?? err);
}

const MAX_REDIRECTIONS = 5;
/** An answer's bytes that arrived and were not read yet; beyond this the answer fails (a reader that stopped). */
export const MAX_UNREAD_BYTES = 64 * 1024 * 1024;

/**
 * The body, taken from undici as fast as it arrives and queued here for its reader. undici 7 must never hold a body
 * paused: when a host ends the answer by closing the connection (HTTP/1.0: Flask's and python's development servers,
 * some proxies) while the parser is paused for a slow reader, it fails an assertion in a socket handler, which no
 * caller can catch and which ends the process (nodejs/undici#5360). Engine answers are small or streamed; what is
 * queued is bounded by MAX_UNREAD_BYTES.
 */
function eagerBody(source: Dispatcher.ResponseData['body']) {
  const chunks: Buffer[] = [];
  let unread = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  source.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    unread += chunk.length;
    if (unread > MAX_UNREAD_BYTES) source.destroy(new Error(`the answer has more than ${MAX_UNREAD_BYTES} bytes nobody read`));
    poke();
  });
  source.on('end', () => ((ended = true), poke()));
  source.on('error', (err: Error) => ((failure ??= err), poke()));
  source.on('close', () => {
    if (!ended) failure ??= new Error('the answer was cut off');
    poke();
  });
  async function* read(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = chunks.shift();
      if (chunk) {
        unread -= chunk.length;
        yield chunk;
      } else if (failure) throw failure;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  const whole = async () => {
    const parts: Uint8Array[] = [];
    for await (const chunk of read()) parts.push(chunk);
    return Buffer.concat(parts);
  };
  return { iterable: { [Symbol.asyncIterator]: read }, whole };
}
const agent: Dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }));

function headerGetter(headers: Record<string, string | string[] | undefined>) {
  return {
    get(name: string): string | null {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * Sends one request. Resolves once the status and headers are in (the body is read from the answer); a network
 * failure rejects with an EngineNetworkError, an abort through `signal` with the signal's reason.
 */
export async function engineRequest(url: string, init: EngineRequest): Promise<EngineResponse> {
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(url, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), headers: init.headers, body: init.body, signal: init.signal, dispatcher: agent });
  } catch (err) {
    if (init.signal.aborted) throw init.signal.reason ?? err;
    throw new EngineNetworkError(url, err);
  }
  const { statusCode, headers, body } = answer;
  // A body's failure (reset, abort, cancel) reaches whoever reads it; one that nobody reads any more is not a crash.
  const eager = eagerBody(body);
  return {
    status: statusCode,
    ok: statusCode >= 200 && statusCode < 300,
    statusText: STATUS_CODES[statusCode] ?? '',
    headers: headerGetter(headers),
    body: eager.iterable,
    text: async () => (await eager.whole()).toString('utf8'),
    json: async () => JSON.parse((await eager.whole()).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const all = await eager.whole();
      return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
    },
    cancel: () =>
      new Promise<void>((resolve) => {
        if (body.closed) return resolve();
        body.once('close', () => resolve());
        body.destroy();
      }),
  };
}
