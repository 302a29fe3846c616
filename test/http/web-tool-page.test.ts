import { rmSync } from 'node:fs';
import path from 'node:path';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { rawGet } from '../helpers/raw-http.js';
import { useTestServer } from '../helpers/server-harness.js';

/** `GET /web-tool` and `GET /web_tool` answer as upstream's do when its web tool page is installed, else a plain 404. */
describe('/web-tool', () => {
  const fixture = makeFixtureRoot();
  const harness = useTestServer(fixture);

  test.each(['/web-tool', '/web_tool'])('%s without a web tool page: a plain-text 404', async (route) => {
    const res = await rawGet(harness.server.url, route);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/no web tool page is installed/);
  });

  describe('with web_tool/ beside frontend/', () => {
    beforeAll(() => fixture.write('web_tool/index.html', '<!doctype html><title>Web Tool</title>'));
    afterAll(() => rmSync(path.join(fixture.root, 'web_tool'), { recursive: true, force: true }));

    test.each(['/web-tool', '/web_tool'])('%s: 302 to /web-tool/index.html, which is served', async (route) => {
      const res = await rawGet(harness.server.url, route);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('/web-tool/index.html');
      const page = await rawGet(harness.server.url, '/web-tool/index.html');
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>Web Tool</title>');
    });

    test('a foreign Host is refused (403), as on every route', async () => {
      const res = await rawGet(harness.server.url, '/web-tool', { host: 'evil.example' });
      expect(res.status).toBe(403);
    });
  });
});
