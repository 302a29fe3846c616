import os from 'node:os';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { rawGet } from '../helpers/raw-http.js';
import { useTestServer } from '../helpers/server-harness.js';

describe('HTTP routes (docs/protocol.md: HTTP routes)', () => {
  const fixture = makeFixtureRoot();
  fixture.write('live2d-models/mao_pro/mao_pro.model3.json', '{"Version":3}');
  fixture.write('live2d-models/mao_pro/mao_pro.png', 'png');
  fixture.write('live2d-models/mao_pro/runtime/helper.js', 'export {}');
  fixture.write('live2d-models/no_model_file/readme.txt', 'x');
  fixture.write('avatars/notes.txt', 'private notes');
  fixture.write('avatars/SHOUT.JPG', 'jpg');
  fixture.write('secret.txt', 'TOP-SECRET');
  const harness = useTestServer(fixture);

  test('GET /healthz', async () => {
    const res = await rawGet(harness.server.url, '/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok', instance_id: `${os.hostname()}-${process.pid}`, sessions: 0, actors: 0 });
  });

  test('GET /live2d-models/info lists folders holding <name>.model3.json, with the avatar', async () => {
    const res = await rawGet(harness.server.url, '/live2d-models/info');
    expect(JSON.parse(res.body)).toEqual({
      type: 'live2d-models/info',
      count: 1,
      characters: [{ name: 'mao_pro', avatar: 'live2d-models/mao_pro/mao_pro.png', model_path: 'live2d-models/mao_pro/mao_pro.model3.json' }],
    });
  });

  test('Live2D files are served with CORS for other origins, .js as application/javascript', async () => {
    const res = await rawGet(harness.server.url, '/live2d-models/mao_pro/mao_pro.model3.json', { origin: 'http://localhost:5173' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"Version":3}');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
    const js = await rawGet(harness.server.url, '/live2d-models/mao_pro/runtime/helper.js');
    expect(js.headers['content-type']).toMatch(/^application\/javascript/);
  });

  test('a CORS preflight for an asset from any origin is allowed, without credentials', async () => {
    const res = await fetch(`${harness.server.url}/live2d-models/info`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.test', 'access-control-request-method': 'GET' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('backgrounds under /bg', async () => {
    const res = await rawGet(harness.server.url, '/bg/ceiling-window-room-night.jpeg');
    expect(res.status).toBe(200);
  });

  test('/avatars serves images only (any case); anything else is 403 Forbidden file type', async () => {
    expect((await rawGet(harness.server.url, '/avatars/mao.png')).status).toBe(200);
    expect((await rawGet(harness.server.url, '/avatars/SHOUT.JPG')).status).toBe(200);
    const txt = await rawGet(harness.server.url, '/avatars/notes.txt');
    expect(txt.status).toBe(403);
    expect(txt.body).toBe('Forbidden file type');
  });

  const traversals = [
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/%252e%252e/secret.txt',
    '/./../secret.txt',
    '/x/../../secret.txt',
    '/secret.txt%00.png',
    '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/%c0%ae%c0%ae/secret.txt',
  ];
  const mounts = ['/live2d-models', '/bg', '/avatars', ''];
  test.each(mounts.flatMap((m) => traversals.map((t) => [m, t] as const)))('no traversal: %s%s', async (mount, attempt) => {
    const res = await rawGet(harness.server.url, `${mount}${attempt}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body).not.toContain('TOP-SECRET');
    expect(res.body).not.toContain('root:');
  });

  test('/ explains how to connect a client when frontend/ holds no build', async () => {
    const res = await rawGet(harness.server.url, '/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain(`ws://127.0.0.1:${harness.server.port}/client-ws`);
    expect(res.body).toContain('frontend/');
  });

  test('/ serves a client build put into frontend/ (checked per request)', async () => {
    fixture.write('frontend/index.html', '<html>CLIENT BUILD</html>');
    fixture.write('frontend/libs/app.js', 'console.log(1)');
    const index = await rawGet(harness.server.url, '/');
    expect(index.body).toContain('CLIENT BUILD');
    const js = await rawGet(harness.server.url, '/libs/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^application\/javascript/);
  });

  test('unknown paths are a plain-text 404', async () => {
    const res = await rawGet(harness.server.url, '/nope');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('Not found: GET /nope');
  });
});
