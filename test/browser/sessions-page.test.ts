import os from 'node:os';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { findProgram } from '../../src/engines/find-program.js';
import { mayViewSessions } from '../../src/http/sessions-page.js';
import { makeFixtureRoot, REPO_ROOT } from '../helpers/fixture-root.js';
import { newSwitchLog, slowLoadCharacter } from '../helpers/slow-switch.js';
import { rawGet } from '../helpers/raw-http.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient } from '../helpers/ws-client.js';

const chromiumPath = findProgram('chromium');

(chromiumPath ? describe : describe.skip)('the live sessions page in a real (headless) Chromium', () => {
  const fixture = makeFixtureRoot();
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer(fixture.root, { actorsFor: (app) => ({ loadCharacter: slowLoadCharacter(app, 1500, newSwitchLog()) }) });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await server.stop();
    fixture.cleanup();
  });

  test('a socket appears within a second, shows switchingConfig while it switches, and is dropped when it closes', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(`${server.url}/sessions`);
    await page.locator('#empty').waitFor({ state: 'visible' });

    const client = await TestClient.connect(server.wsUrl);
    await client.ready();
    const uid = client.frames[2]!.client_uid as string;
    const row = page.locator(`.session[data-uid="${uid}"]`);
    await row.waitFor({ timeout: 1000 });
    await expectText(row.locator('.state'), 'active.idle');
    await expectText(row.locator('.character'), 'character mao_pro');
    expect(await row.locator('.children').textContent()).toMatch(/socket \(socketBridge\)/);
    // Which instance this is, and every instance's sessions (one instance here: no cluster).
    const instance = `${os.hostname()}-${process.pid}`;
    await expectText(page.locator('#instance'), instance);
    await page.locator(`#instances li[data-instance="${instance}"]`).filter({ hasText: /— 1 session\(s\)/ }).waitFor({ timeout: 5000 });

    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await expectText(row.locator('.state'), 'switchingConfig');
    expect(await row.locator('.node.active').evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).dataset.path))).toEqual(['switchingConfig']);
    expect(await row.locator('.children').textContent()).toMatch(/loadCharacter/);
    const artifacts = path.join(REPO_ROOT, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'sessions-page.png'), fullPage: true });

    await client.next('config-switched', 1, 4000);
    await expectText(row.locator('.state'), 'active.idle');
    await expectText(row.locator('.character'), 'character unhelpful_ai');

    await client.close();
    await row.waitFor({ state: 'detached', timeout: 1000 });
    await page.locator('#empty').waitFor({ state: 'visible' });
    await page.close();
  }, 30_000);

  test('the page is served to this machine only by default', async () => {
    expect((await rawGet(server.url, '/sessions')).status).toBe(200);
    expect(mayViewSessions('127.0.0.1', false)).toBe(true);
    expect(mayViewSessions('::ffff:127.0.0.1', false)).toBe(true);
    expect(mayViewSessions('::1', false)).toBe(true);
    expect(mayViewSessions('192.168.1.7', false)).toBe(false);
    expect(mayViewSessions('192.168.1.7', true)).toBe(true);
  });
});

async function expectText(locator: import('playwright-core').Locator, text: string) {
  await locator.filter({ hasText: new RegExp(`^${text.replace(/\./g, '\\.')}$`) }).waitFor({ timeout: 3000 });
}
