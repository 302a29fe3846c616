import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { findProgram } from '../../src/engines/find-program.js';
import { SHARED_HINT, SHARED_PRESENT, startArchiveServer, UPSTREAM_COMMIT, upstreamArchive, WEB_COMMIT, webClientArchive } from '../helpers/archive-server.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';
import { editConf } from '../helpers/engine-config.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';
import { runServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { until as waitUntil } from '../helpers/ws-client.js';

const chromiumPath = findProgram('chromium');

/** What a clone holds besides the code: the files a user's working directory starts with (no frontend/, no models). */
function copyOfRepository(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-clone-'));
  for (const entry of ['conf.yaml', 'model_dict.json', 'characters', 'backgrounds', 'avatars', 'prompts']) {
    cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  }
  mkdirSync(path.join(root, 'live2d-models'));
  return root;
}

/**
 * The mind the first start downloads, served by the local host: a manifest of the test's own for the shipped
 * conf.yaml's model path, pointing at a tiny GGUF (random weights, real llama.cpp). No real speech model can be
 * fetched on a test machine, so the clone's voice and ears are espeak-ng and pocketsphinx here.
 */
async function tinyMind(root: string, host: http.Server): Promise<string> {
  const file = path.join(root, 'tiny-mind.gguf');
  await writeTinyGguf(file, { seed: 11 });
  const bytes = readFileSync(file);
  host.on('request', (req, res) => (req.url === '/mind.gguf' ? res.writeHead(200, { 'content-length': bytes.length }).end(bytes) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  const dir = path.join(root, 'test-manifests');
  mkdirSync(dir);
  const manifest = {
    role: 'mind', title: 'tiny mind (test)', kind: 'file', url: `http://127.0.0.1:${(host.address() as AddressInfo).port}/mind.gguf`,
    bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), target: 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf',
    license: 'test', source: 'written by the test',
  };
  writeFileSync(path.join(dir, 'mind.json'), JSON.stringify(manifest));
  editConf(root, { 'character_config.tts_config.tts_model': 'espeak_tts', 'character_config.asr_config.asr_model': 'pocketsphinx_asr' });
  return dir;
}

(chromiumPath && SHARED_PRESENT ? describe : describe.skip)(`a fresh clone in a real (headless) Chromium: the first start fetches the client, the model and the mind; the character talks back${chromiumPath && SHARED_PRESENT ? '' : ` [skipped: needs chromium on PATH and ${SHARED_HINT}]`}`, () => {
  let archives: Awaited<ReturnType<typeof startArchiveServer>>;
  let browser: Browser;
  let server: ServerProcess;
  let root: string;
  let url: string;
  const modelHost = http.createServer();

  beforeAll(async () => {
    archives = await startArchiveServer();
    archives.serve('Open-LLM-VTuber/Open-LLM-VTuber-Web', WEB_COMMIT, await webClientArchive());
    archives.serve('Open-LLM-VTuber/Open-LLM-VTuber', UPSTREAM_COMMIT, await upstreamArchive());
    root = copyOfRepository();
    const manifests = await tinyMind(root, modelHost);
    // As `npm start` runs it, with local servers standing in for github.com and the model host.
    server = runServerProcess(root, ['--port', '0', '--host', '127.0.0.1'], { VAS_NO_DOWNLOADS: '0', VAS_DOWNLOAD_BASE_URL: archives.baseUrl, VAS_MODEL_MANIFESTS: manifests });
    [, url] = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/, 90_000)) as unknown as [string, string];
    await server.waitFor(/installed tiny mind \(test\) in models\/qwen2\.5-0\.5b-instruct-q4_k_m\.gguf/, 60_000);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
        '--autoplay-policy=no-user-gesture-required',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    server?.child.kill('SIGTERM');
    await server?.exited;
    await archives?.close();
    modelHost.closeAllConnections();
    modelHost.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the client connects, the model, background and avatar load, nothing is a 404, and a reply has no [emotion] tag', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // The client's default server is port 12393; this one is on a free port, so the client's settings point here
    // (the background's too: the client derives it from the default port before it reads its settings).
    await page.addInitScript(
      ([ws, base]) => {
        if (!localStorage.getItem('wsUrl')) localStorage.setItem('wsUrl', JSON.stringify(ws));
        if (!localStorage.getItem('baseUrl')) localStorage.setItem('baseUrl', JSON.stringify(base));
        if (!localStorage.getItem('backgroundUrl')) localStorage.setItem('backgroundUrl', JSON.stringify(`${base}/bg/ceiling-window-room-night.jpeg`));
      },
      [`${url.replace('http', 'ws')}/client-ws`, url],
    );
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    const responses: Array<{ url: string; status: number }> = [];
    page.on('response', (res) => responses.push({ url: res.url(), status: res.status() }));
    const failed: string[] = [];
    page.on('requestfailed', (req) => failed.push(`${req.url()} (${req.failure()?.errorText ?? '?'})`));
    const received: Array<Record<string, unknown>> = [];
    let socketUrl = '';
    page.on('websocket', (ws) => {
      socketUrl = ws.url();
      ws.on('framereceived', ({ payload }) => {
        if (typeof payload === 'string') received.push(JSON.parse(payload) as Record<string, unknown>);
      });
    });
    const served = (suffix: string) => responses.find((r) => r.url.startsWith(url) && new URL(r.url).pathname === suffix);
    // Deadlines, not time bounds: a slow CI machine still gets there well inside them. On a miss, everything seen.
    const until = (what: string, check: () => boolean, ms = 60_000) =>
      waitUntil(what, check, ms).catch((err: Error) => {
        throw new Error(
          `${err.message}; frames: ${received.map((f) => f.type).join(', ')}; responses: ${responses.map((r) => `${r.status} ${r.url}`).join(', ')}; ` +
            `failed: ${failed.join(', ')}; server output (tail):\n${server.output().slice(-4000)}`,
        );
      });

    await page.goto(`${url}/`);
    await until('set-model-and-conf', () => received.some((f) => f.type === 'set-model-and-conf'));
    expect(socketUrl).toBe(`${url.replace('http', 'ws')}/client-ws`);
    expect(received.find((f) => f.type === 'set-model-and-conf')).toMatchObject({ model_info: { name: 'shizuku' } });

    const modelFiles = [
      '/live2d-models/shizuku/runtime/shizuku.model3.json',
      '/live2d-models/shizuku/runtime/shizuku.moc3',
      ...[0, 1, 2, 3, 4].map((n) => `/live2d-models/shizuku/runtime/shizuku.1024/texture_0${n}.png`),
    ];
    await until(`the model files ${modelFiles.join(', ')}`, () => modelFiles.every((f) => served(f)));
    for (const file of modelFiles) expect([file, served(file)!.status]).toEqual([file, 200]);
    await until('the background', () => served('/bg/ceiling-window-room-night.jpeg') !== undefined);
    expect(served('/bg/ceiling-window-room-night.jpeg')!.status).toBe(200);

    const input = page.getByPlaceholder('Type your message...');
    await input.fill('Hello! My name is Sam.');
    await input.press('Enter');
    await until('the whole reply', () => received.some((f) => f.type === 'backend-synth-complete'));
    const audio = received.filter((f) => f.type === 'audio');
    const shown = audio.map((f) => (f.display_text as { text: string }).text);
    // The downloaded model answers (the tiny model's vocabulary: printable ASCII), not the offline talker.
    expect(shown.join('').trim().length).toBeGreaterThan(0);
    expect(shown.join('')).toMatch(/^[\x20-\x7e]+$/);
    expect(shown.join('')).not.toMatch(/Nice to meet you|downloading|models:fetch/);
    // Spoken (a random sentence of punctuation alone has nothing to say: its payload is silent).
    expect(audio.some((f) => typeof f.audio === 'string' && (f.audio as string).length > 0)).toBe(true);
    // The client shows the reply in its bubble.
    const bubble = page.getByText(shown[0]!.trim().slice(0, 12), { exact: false }).first();
    await bubble.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await page.locator('body').innerText()).not.toMatch(/\[(joy|neutral|surprise)\]/);
    await until('the avatar', () => served('/avatars/mao.png') !== undefined);
    expect(served('/avatars/mao.png')!.status).toBe(200);

    const artifacts = path.join(REPO_ROOT, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'fresh-clone.png') });

    expect(responses.filter((r) => r.status === 404)).toEqual([]);
    // No microphone in a headless test browser: the client's voice detection cannot start. Nothing else may fail.
    expect(consoleErrors.filter((e) => !/Failed to start VAD: NotFoundError/.test(e))).toEqual([]);
    expect(responses.filter((r) => r.url.startsWith(url) && r.status >= 400)).toEqual([]);
    await page.close();
  }, 240_000);
});
