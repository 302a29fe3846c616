import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { FormData } from 'undici';
import { EngineNetworkError, engineRequest, networkErrorDetail } from '../../src/engines/engine-http.js';

interface Seen {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

/** A real server: /moved answers 307 to /target, /target echoes what it got, /stream writes a part and then resets, /open writes a part and stays open. */
async function echoServer() {
  const seen: Seen[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') });
    if (req.url === '/moved') {
      res.writeHead(307, { location: '/target' });
      res.end();
    } else if (req.url === '/open') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n');
      setImmediate(() => res.socket?.destroy());
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] });
      res.end(JSON.stringify({ got: Buffer.concat(chunks).toString('utf8') }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('engineRequest: the engines’ HTTP client', () => {
  test('a POST is answered with status, headers and body; a 307 is followed with the same method and body', async () => {
    const server = await echoServer();
    const res = await engineRequest(`${server.base}/moved`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":"hi"}', signal: new AbortController().signal });
    expect(res.status).toBe(200);
    expect(res.ok).toBe(true);
    expect(res.statusText).toBe('OK');
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(res.headers.get('x-twice')).toBe('a, b');
    expect(res.headers.get('absent')).toBeNull();
    expect(await res.json()).toEqual({ got: '{"input":"hi"}' });
    expect(server.seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /moved {"input":"hi"}', 'POST /target {"input":"hi"}']);
    await server.close();
  });

  test('a form goes as multipart with its boundary', async () => {
    const server = await echoServer();
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new Blob([new Uint8Array([1, 2, 3])], { type: 'audio/wav' }), 'speech.wav');
    const res = await engineRequest(`${server.base}/target`, { method: 'POST', body: form, signal: new AbortController().signal });
    await res.text();
    const [seen] = server.seen;
    expect(seen!.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen!.body).toContain('name="model"');
    expect(seen!.body).toContain('whisper-1');
    expect(seen!.body).toContain('filename="speech.wav"');
    await server.close();
  });

  test('a refused connection is an EngineNetworkError with its code', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await engineRequest(`http://127.0.0.1:${port}/x`, { signal: new AbortController().signal }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(EngineNetworkError);
    expect((failure as EngineNetworkError).code).toBe('ECONNREFUSED');
    expect(networkErrorDetail(failure)).toBe('ECONNREFUSED');
    expect((failure as Error).message).toBe(`http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  test('a body cut off reaches its reader; an abort rejects with the signal’s reason; a body dropped halfway crashes nothing', async () => {
    const server = await echoServer();
    const res = await engineRequest(`${server.base}/stream`, { signal: new AbortController().signal });
    const read = (async () => {
      const parts: string[] = [];
      for await (const chunk of res.body) parts.push(Buffer.from(chunk).toString('utf8'));
      return parts;
    })();
    await expect(read).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });

    // A body dropped halfway (a retry, a stream whose reader is done with it) closes without an uncaught 'error'.
    for (const what of ['/open', '/target']) {
      const dropped = await engineRequest(`${server.base}${what}`, { signal: new AbortController().signal });
      await dropped.cancel();
      // What was not read is gone: a late reader hears that the answer was cut off.
      await expect((async () => {
        for await (const _chunk of dropped.body) {
          // drain what had arrived before the cancel
        }
      })()).rejects.toThrow(/cut off|aborted/);
    }

    const controller = new AbortController();
    const reason = new Error('the turn was interrupted');
    controller.abort(reason);
    await expect(engineRequest(`${server.base}/target`, { signal: controller.signal })).rejects.toBe(reason);
    await server.close();
  });
});
