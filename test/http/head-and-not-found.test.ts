import http from 'node:http';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { rawGet } from '../helpers/raw-http.js';
import { useTestServer } from '../helpers/server-harness.js';

function rawHead(baseUrl: string, rawPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method: 'HEAD', headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HEAD answers wherever GET does; missing files are a plain-text 404', () => {
  const fixture = makeFixtureRoot();
  fixture.write('live2d-models/shizuku/runtime/shizuku.model3.json', '{"Version":3}');
  const harness = useTestServer(fixture);

  test.each(['/', '/healthz', '/metrics', '/sessions', '/live2d-models/info', '/bg/ceiling-window-room-night.jpeg', '/avatars/mao.png', '/live2d-models/shizuku/runtime/shizuku.model3.json'])(
    'HEAD %s has the status and type of GET, and no body',
    async (route) => {
      const get = await rawGet(harness.server.url, route);
      const head = await rawHead(harness.server.url, route);
      expect(get.status).toBe(200);
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.body).toBe('');
    },
  );

  test.each(['/bg/missing.jpeg', '/avatars/missing.png', '/live2d-models/missing/missing.model3.json', '/libs/missing.js'])(
    'GET %s is a 404 in text/plain (a JSON body would be blocked by Chromium as ERR_BLOCKED_BY_ORB)',
    async (route) => {
      const res = await rawGet(harness.server.url, route);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toBe(`Not found: GET ${route}`);
      expect((await rawHead(harness.server.url, route)).status).toBe(404);
    },
  );

  test('the web client\'s request for a model before it was told one (/undefined/undefined.model3.json) is a 204, not a 404', async () => {
    const res = await rawGet(harness.server.url, '/undefined/undefined.model3.json');
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
  });
});
