import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { EngineNetworkError } from '../../src/engines/engine-http.js';
import { requestWithRetry, retryAfterMs } from '../../src/engines/http-retry.js';

/** A server that answers request n with `answers[n]` (the last one repeats); counts what it got. */
async function scriptedServer(answers: Array<{ status: number; headers?: Record<string, string>; reset?: boolean }>) {
  let seen = 0;
  const server = http.createServer((req, res) => {
    const answer = answers[Math.min(seen, answers.length - 1)]!;
    seen++;
    req.resume();
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(`answer ${seen}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`,
    requests: () => seen,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

const fast = { baseDelayMs: 1, maxDelayMs: 20 };

describe('requestWithRetry (docs/decisions.md, 16)', () => {
  test('a 503 then success: one retry, logged, and the successful answer', async () => {
    const server = await scriptedServer([{ status: 503 }, { status: 200 }]);
    const retries: string[] = [];
    const res = await requestWithRetry(server.url, { signal: new AbortController().signal }, 'fake_llm', { ...fast, onRetry: (m) => retries.push(m) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('answer 2');
    expect(server.requests()).toBe(2);
    expect(retries).toEqual(['fake_llm: HTTP 503; retry 1 of 2 in 1 ms']);
    await server.close();
  });

  test('429 and 5xx at most twice more; the last answer is returned for the caller to report', async () => {
    const server = await scriptedServer([{ status: 429 }, { status: 500 }, { status: 502 }, { status: 200 }]);
    const retries: string[] = [];
    const res = await requestWithRetry(server.url, { signal: new AbortController().signal }, 'x', { ...fast, onRetry: (m) => retries.push(m) });
    expect(res.status).toBe(502);
    expect(server.requests()).toBe(3);
    expect(retries).toHaveLength(2);
    await server.close();
  });

  test('a client error is not retried', async () => {
    const server = await scriptedServer([{ status: 401 }, { status: 200 }]);
    const res = await requestWithRetry(server.url, { signal: new AbortController().signal }, 'x', fast);
    expect(res.status).toBe(401);
    expect(server.requests()).toBe(1);
    await server.close();
  });

  test('Retry-After is honoured, capped', async () => {
    const server = await scriptedServer([{ status: 429, headers: { 'retry-after': '3600' } }, { status: 429, headers: { 'retry-after': '0' } }, { status: 200 }]);
    const retries: string[] = [];
    const res = await requestWithRetry(server.url, { signal: new AbortController().signal }, 'x', { baseDelayMs: 1, maxDelayMs: 30, onRetry: (m) => retries.push(m) });
    expect(res.status).toBe(200);
    expect(retries).toEqual(['x: HTTP 429; retry 1 of 2 in 30 ms', 'x: HTTP 429; retry 2 of 2 in 0 ms']);
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs('soon')).toBeNull();
    await server.close();
  });

  test('a reset connection is retried; a refused one too, and fails after the last attempt', async () => {
    const server = await scriptedServer([{ status: 0, reset: true }, { status: 200 }]);
    const res = await requestWithRetry(server.url, { signal: new AbortController().signal }, 'x', fast);
    expect(res.status).toBe(200);
    expect(server.requests()).toBe(2);
    await server.close();

    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const retries: string[] = [];
    await expect(requestWithRetry(`http://127.0.0.1:${port}/`, { signal: new AbortController().signal }, 'x', { ...fast, onRetry: (m) => retries.push(m) })).rejects.toThrow(EngineNetworkError);
    expect(retries).toEqual(['x: ECONNREFUSED; retry 1 of 2 in 1 ms', 'x: ECONNREFUSED; retry 2 of 2 in 2 ms']);
  });

  test('an abort during the wait ends it at once, and no further request is made', async () => {
    const server = await scriptedServer([{ status: 503, headers: { 'retry-after': '3600' } }, { status: 200 }]);
    const controller = new AbortController();
    const pending = requestWithRetry(server.url, { signal: controller.signal }, 'x', { maxDelayMs: 3_600_000, onRetry: () => controller.abort() });
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests()).toBe(1);
    await server.close();
  });
});
