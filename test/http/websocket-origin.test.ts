import { checkOrigin } from '../../src/http/origin-check.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

describe('who may open /client-ws', () => {
  const fixture = makeFixtureRoot();
  const harness = useTestServer(fixture, { mutate: (app) => (app.system.allowed_origins = ['https://overlay.example.com']) });

  test.each([
    ['no Origin (a native client or script)', undefined],
    ['the Electron app (null origin)', 'null'],
    ['a file:// page', 'file://'],
    ['a loopback page (Vite dev server)', 'http://localhost:5173'],
    ['a 127.x page', 'http://127.0.0.1:3000'],
    ['an IPv6 loopback page', 'http://[::1]:8080'],
    ['a listed origin', 'https://overlay.example.com'],
  ])('accepted: %s', async (_name, origin) => {
    const client = await TestClient.connect(harness.server.wsUrl, origin === undefined ? {} : { origin });
    await client.ready();
    await client.close();
  });

  test('accepted: the page this server serves, by its own IP address', async () => {
    const client = await TestClient.connect(harness.server.wsUrl, { origin: `http://127.0.0.1:${harness.server.port}` });
    await client.ready();
    await client.close();
  });

  test.each([
    ['another site', 'https://evil.example'],
    ['a look-alike of a listed origin', 'https://overlay.example.com.evil.example'],
    ['a DNS-rebinding page (same Host, but a domain name)', 'http://rebind.example:PORT'],
  ])('refused with HTTP 403: %s', async (_name, origin) => {
    const real = origin.replace('PORT', String(harness.server.port));
    const host = new URL(real).host;
    const client = new TestClient(harness.server.wsUrl, { origin: real, headers: { host } });
    await expect(client.opened).rejects.toThrow('HTTP 403');
    expect(harness.server.sessionCount()).toBe(0);
  });

  test('the origin rules, unit by unit', () => {
    expect(checkOrigin('http://192.168.1.20:12393', '192.168.1.20:12393', [])).toEqual({ ok: true });
    expect(checkOrigin('http://192.168.1.20:12393', '192.168.1.21:12393', [])).toMatchObject({ ok: false });
    expect(checkOrigin('https://a.example', 'a.example', ['*'])).toEqual({ ok: true });
    expect(checkOrigin('not a url', 'x', [])).toMatchObject({ ok: false, reason: expect.stringContaining('malformed') });
    const refused = checkOrigin('https://evil.example', 'localhost:12393', []);
    expect(refused).toMatchObject({ ok: false, reason: expect.stringContaining('system_config.allowed_origins') });
  });

  test('upgrades on other paths are refused with 404', async () => {
    const client = new TestClient(harness.server.wsUrl.replace('/client-ws', '/other-ws'));
    await expect(client.opened).rejects.toThrow('HTTP 404');
  });
});
