import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadText, openDownload } from '../../src/downloads/http-download.js';
import { startHttp10Server, type Http10Server } from './http10-server.js';

const BODY = randomBytes(3 * 1024 * 1024);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A reader slower than the loopback: the body is paused (backpressure) most of the time, and when the FIN comes. */
function slowSink(delayMs = 2) {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      setTimeout(done, delayMs);
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

/** A bare TCP server on 127.0.0.1 that answers with `onRequest`; close() drops whatever is still connected. */
async function rawServer(onRequest: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => onRequest(socket));
    socket.resume(); // keep reading, so the client's close is seen
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

let a: Http10Server;
let b: Http10Server;
beforeAll(async () => {
  a = await startHttp10Server();
  b = await startHttp10Server();
});
afterAll(async () => {
  await a.close();
  await b.close();
});
beforeEach(() => {
  a.routes.clear();
  b.routes.clear();
});

describe('openDownload over node:http', () => {
  test.each([
    ['with Content-Length (python http.server)', true],
    ['without Content-Length (body ends at the close)', false],
  ])('HTTP/1.0 body ended by the close, read slowly: all bytes arrive, %s', async (_name, contentLength) => {
    a.routes.set('/x', { body: BODY, contentLength });
    const download = await openDownload(`${a.base}/x`);
    expect(download.status).toBe(200);
    expect(download.total).toBe(contentLength ? BODY.length : undefined);
    const { sink, bytes } = slowSink();
    await pipeline(download.body, sink);
    expect(sha(bytes())).toBe(sha(BODY));
  });

  test('a body cut short of its Content-Length fails the stream (ECONNRESET), after the bytes that came', async () => {
    a.routes.set('/x', { body: BODY, cutAfter: 1_000_000 });
    const download = await openDownload(`${a.base}/x`);
    let received = 0;
    download.body.on('data', (chunk: Buffer) => (received += chunk.length));
    await expect(pipeline(download.body, slowSink(0).sink)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(1_000_000);
  });

  test('a reset in a close-delimited body is an error, not a short success', async () => {
    // A reader that keeps up, so the reset meets a reading socket (libuv reports one seen while paused as an end).
    a.routes.set('/x', { body: BODY, contentLength: false, cutAfter: 200_000, cut: 'reset' });
    const download = await openDownload(`${a.base}/x`);
    let received = 0;
    download.body.on('data', (chunk: Buffer) => (received += chunk.length));
    await expect(pipeline(download.body, slowSink(0).sink)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(received).toBeLessThanOrEqual(200_000);
  });

  test('a chunked body cut before its last chunk fails the stream', async () => {
    a.routes.set('/x', { body: BODY, chunked: true, cutAfter: 500_000 });
    const download = await openDownload(`${a.base}/x`);
    await expect(pipeline(download.body, slowSink(0).sink)).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  test('a redirect chain across hosts (absolute and relative Locations, 301/302/307/308) is followed', async () => {
    a.routes.set('/start', { status: 301, location: `${b.base}/r/one` });
    b.routes.set('/r/one', { status: 302, location: 'two' });
    b.routes.set('/r/two', { status: 307, location: `${a.base}/final` });
    a.routes.set('/final', { status: 308, location: '/file.tar.gz' });
    a.routes.set('/file.tar.gz', { body: BODY, contentLength: false });
    const download = await openDownload(`${a.base}/start`);
    expect(download.url).toBe(`${a.base}/file.tar.gz`);
    const { sink, bytes } = slowSink(0);
    await pipeline(download.body, sink);
    expect(bytes().equals(BODY)).toBe(true);
    expect(b.requests).toEqual(['GET /r/one', 'GET /r/two']);
  });

  test('a redirect loop stops after 5 redirects; a redirect without a usable Location is an error', async () => {
    a.routes.set('/loop', { status: 302, location: '/loop' });
    await expect(openDownload(`${a.base}/loop`)).rejects.toMatchObject({ kind: 'redirect', detail: 'more than 5 redirects' });
    expect(a.requests.filter((r) => r === 'GET /loop')).toHaveLength(6);
    a.routes.set('/nowhere', { status: 302 });
    await expect(openDownload(`${a.base}/nowhere`)).rejects.toMatchObject({ kind: 'redirect', detail: 'HTTP 302 without a Location' });
    a.routes.set('/ftp', { status: 301, location: 'ftp://example.com/x.tar.gz' });
    await expect(openDownload(`${a.base}/ftp`)).rejects.toMatchObject({ kind: 'redirect', detail: 'unsupported protocol ftp:' });
    a.routes.set('/broken', { status: 301, location: 'http://[::1' });
    await expect(openDownload(`${a.base}/broken`)).rejects.toMatchObject({ kind: 'redirect', detail: 'HTTP 301 to a bad Location http://[::1' });
  });

  test('a status other than 2xx, a refused connection and a non-HTTP answer reject with HttpDownloadError', async () => {
    await expect(openDownload(`${a.base}/missing`)).rejects.toMatchObject({ kind: 'status', status: 404, url: `${a.base}/missing` });
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(openDownload(`http://127.0.0.1:${port}/x`)).rejects.toMatchObject({ kind: 'network', detail: 'ECONNREFUSED' });
    const garbage = await rawServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    try {
      await expect(openDownload(garbage.url)).rejects.toMatchObject({ kind: 'network', detail: 'HPE_INVALID_CONSTANT' });
    } finally {
      await garbage.close();
    }
  });

  test('an abort before the answer or mid-body rejects with the signal reason and closes the connection', async () => {
    const before = new AbortController();
    before.abort(new Error('not now'));
    await expect(openDownload(`${a.base}/x`, { signal: before.signal })).rejects.toThrow('not now');

    let hold!: net.Socket;
    const stalling = await rawServer((s) => {
      hold = s;
      s.write('HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\n' + 'x'.repeat(1000));
    });
    try {
      const ac = new AbortController();
      const download = await openDownload(stalling.url, { signal: ac.signal });
      const closed = new Promise((resolve) => hold.on('close', resolve));
      setTimeout(() => ac.abort(new Error('shutting down')), 20);
      await expect(pipeline(download.body, slowSink(0).sink)).rejects.toThrow('shutting down');
      await closed;
    } finally {
      await stalling.close();
    }
  });

  test('a silent server times out; a slow reader does not', async () => {
    const silent = await rawServer((s) => s.write('HTTP/1.0 200 OK\r\n\r\nabc'));
    try {
      const download = await openDownload(silent.url, { idleTimeoutMs: 200 });
      await expect(pipeline(download.body, slowSink(0).sink)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      await silent.close();
    }
    a.routes.set('/x', { body: BODY.subarray(0, 256 * 1024) });
    const download = await openDownload(`${a.base}/x`, { idleTimeoutMs: 100 });
    const { sink, bytes } = slowSink(150); // each write holds the socket paused longer than the idle timeout
    await pipeline(download.body, sink);
    expect(bytes().length).toBe(256 * 1024);
  });

  test('downloadText reads a small body, and keeps at most the limit', async () => {
    a.routes.set('/sum', { body: Buffer.from('ab'.repeat(32) + '  x.tar.bz2\n'), contentLength: false });
    await expect(downloadText(`${a.base}/sum`)).resolves.toBe('ab'.repeat(32) + '  x.tar.bz2\n');
    a.routes.set('/big', { body: Buffer.alloc(100_000, 'a') });
    await expect(downloadText(`${a.base}/big`, {}, 1000)).resolves.toHaveLength(1000);
  });
});
