import http from 'node:http';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { rawGet } from '../helpers/raw-http.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

/** Status and headers of a GET, without waiting for the body (`/sessions/events` never ends). */
function statusOf(baseUrl: string, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers: { connection: 'close', ...headers } }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.destroy();
    });
    req.on('error', reject);
    req.end();
  });
}

const GUARDED = ['/sessions', '/sessions/events', '/sessions/machine.json', '/metrics'];

/** Host and Origin rules (docs/decisions.md, 17): the pages that show every session (and the metrics) follow the rules of /client-ws. */
describe('Host and Origin rules on HTTP', () => {
  const fixture = makeFixtureRoot();
  fixture.write('live2d-models/mao_pro/mao_pro.model3.json', '{"Version":3}');
  const harness = useTestServer(fixture, { mutate: (app) => (app.system.allowed_hosts = ['companion.example.net']) });

  test.each(GUARDED)('%s: a page of another site is refused, and gets no CORS header', async (path) => {
    const res = await statusOf(harness.server.url, path, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  test.each(GUARDED)('%s: a foreign Host (DNS rebinding) is refused', async (path) => {
    const port = harness.server.port;
    const res = await statusOf(harness.server.url, path, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` });
    expect(res.status).toBe(403);
    const noOrigin = await statusOf(harness.server.url, path, { host: `evil.example:${port}` });
    expect(noOrigin.status).toBe(403);
  });

  test.each(GUARDED)('%s: served to loopback pages and to no Origin, never with credentials', async (path) => {
    const plain = await statusOf(harness.server.url, path, {});
    expect(plain.status).toBe(200);
    const local = await statusOf(harness.server.url, path, { origin: 'http://localhost:5173' });
    expect(local.status).toBe(200);
    expect(local.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(local.headers['access-control-allow-credentials']).toBeUndefined();
  });

  test('a host listed in allowed_hosts is served, with its own page as origin', async () => {
    const res = await statusOf(harness.server.url, '/metrics', { host: 'companion.example.net', origin: 'https://companion.example.net' });
    expect(res.status).toBe(200);
  });

  test('a preflight from another site is refused', async () => {
    const res = await statusOf(harness.server.url, '/sessions/machine.json', { origin: 'https://evil.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(res.status).toBe(403);
  });

  test('assets the web client loads cross-origin stay readable by any page, without credentials', async () => {
    for (const path of ['/live2d-models/info', '/live2d-models/mao_pro/mao_pro.model3.json', '/bg/ceiling-window-room-night.jpeg', '/avatars/mao.png']) {
      const res = await rawGet(harness.server.url, path, { origin: 'http://192.168.1.20:3000' });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    }
    const preflight = await statusOf(harness.server.url, '/live2d-models/info', { origin: 'http://192.168.1.20:3000', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
  });

  test('/client-ws refuses a foreign Host too', async () => {
    const port = harness.server.port;
    await expect(TestClient.connect(harness.server.wsUrl, { headers: { host: `evil.example:${port}` } })).rejects.toThrow('HTTP 403');
    const ok = await TestClient.connect(harness.server.wsUrl, { headers: { host: `companion.example.net:${port}` } });
    await ok.ready();
    await ok.close();
  });
});
