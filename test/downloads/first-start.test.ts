import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { runServerProcess } from '../helpers/server-process.js';
import { until } from '../helpers/ws-client.js';
import { SHARED_SHIZUKU, SHARED_WEB_CLIENT, startArchiveServer, UPSTREAM_COMMIT, upstreamArchive, WEB_COMMIT, webClientArchive, describeWithShared } from '../helpers/archive-server.js';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describeWithShared('the first start (npm start on a fresh clone) fetches the web client and the sample model', () => {
  let archives: Awaited<ReturnType<typeof startArchiveServer>>;
  beforeAll(async () => {
    archives = await startArchiveServer();
    archives.serve('Open-LLM-VTuber/Open-LLM-VTuber-Web', WEB_COMMIT, await webClientArchive());
    archives.serve('Open-LLM-VTuber/Open-LLM-VTuber', UPSTREAM_COMMIT, await upstreamArchive());
  });
  afterAll(() => archives.close());

  test('installs both, serves the client at /, names the model licence, and says which model folder is still empty', async () => {
    const fixture = makeFixtureRoot();
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1'], { VAS_NO_DOWNLOADS: '0', VAS_DOWNLOAD_BASE_URL: archives.baseUrl });
    try {
      const [, url] = await server.waitFor(LISTENING, 60_000);
      const log = server.output();
      expect(log).toMatch(/installed the web client \(Open-LLM-VTuber-Web, build branch\) in frontend\/ \(14 files checked/);
      expect(log).toMatch(/installed the Live2D model shizuku in live2d-models\/shizuku\/ \(15 files checked/);
      expect(log).toMatch(/Live2D model shizuku: licence: Live2D Free Material License: https:\/\/www\.live2d\.com\//);
      expect(log).toMatch(/the Live2D model "mao_pro" has no files \(live2d-models\/mao_pro\/runtime\/mao_pro\.model3\.json is missing\): put its files in live2d-models\/mao_pro\//);
      expect(log).not.toMatch(/\r/); // not a terminal: log lines, no progress bar
      const index = await fetch(`${url}/`);
      expect(await index.text()).toBe(readFileSync(path.join(SHARED_WEB_CLIENT, 'index.html'), 'utf8'));
      const model = await fetch(`${url}/live2d-models/shizuku/runtime/shizuku.model3.json`);
      expect(await model.text()).toBe(readFileSync(path.join(SHARED_SHIZUKU, 'runtime/shizuku.model3.json'), 'utf8'));
      expect(readdirSync(path.join(fixture.root, 'live2d-models'))).toEqual(['shizuku']);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      fixture.cleanup();
    }
  }, 90_000);

  test('offline (connection refused): one line each with the command to do it by hand; / is the help page', async () => {
    const fixture = makeFixtureRoot();
    const port = await closedPort();
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1'], { VAS_NO_DOWNLOADS: '0', VAS_DOWNLOAD_BASE_URL: `http://127.0.0.1:${port}` });
    try {
      const [, url] = await server.waitFor(LISTENING, 30_000);
      const failures = server.output().split('\n').filter((l) => /could not download/.test(l));
      expect(failures).toHaveLength(2);
      expect(failures[0]).toContain(
        `could not download the web client (Open-LLM-VTuber-Web, build branch): cannot reach 127.0.0.1:${port} (ECONNREFUSED). ` +
          `The server runs without it; to install it by hand: mkdir -p frontend && curl -fL http://127.0.0.1:${port}/Open-LLM-VTuber/Open-LLM-VTuber-Web/archive/${WEB_COMMIT}.tar.gz | tar -xz --strip-components=1 -C frontend (or run: npm run client:update)`,
      );
      expect(failures[1]).toContain(
        `mkdir -p live2d-models/shizuku && curl -fL http://127.0.0.1:${port}/Open-LLM-VTuber/Open-LLM-VTuber/archive/${UPSTREAM_COMMIT}.tar.gz | tar -xz --strip-components=3 -C live2d-models/shizuku Open-LLM-VTuber-${UPSTREAM_COMMIT}/live2d-models/shizuku`,
      );
      expect(await (await fetch(`${url}/`)).text()).toMatch(/<html/i);
      expect(existsSync(path.join(fixture.root, 'frontend'))).toBe(false);
      expect(readdirSync(fixture.root).filter((n) => n.includes('.download-'))).toEqual([]);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      fixture.cleanup();
    }
  }, 60_000);

  test('Ctrl-C during a download: the process exits at once and leaves no partial folder', async () => {
    const fixture = makeFixtureRoot();
    archives.serve('Open-LLM-VTuber/Open-LLM-VTuber-Web', WEB_COMMIT, await webClientArchive(), 'stall');
    const server = runServerProcess(fixture.root, ['--port', '0'], { VAS_NO_DOWNLOADS: '0', VAS_DOWNLOAD_BASE_URL: archives.baseUrl });
    try {
      await server.waitFor(/downloading the web client/, 30_000);
      await until('the temporary folder', () => readdirSync(fixture.root).some((n) => n.startsWith('.frontend.download-')));
      server.child.kill('SIGINT');
      expect(await server.exited).toEqual({ code: 130, signal: null });
      expect(readdirSync(fixture.root).filter((n) => n.includes('frontend'))).toEqual([]);
      expect(server.output()).not.toMatch(/listening on/);
    } finally {
      server.child.kill('SIGKILL');
      archives.serve('Open-LLM-VTuber/Open-LLM-VTuber-Web', WEB_COMMIT, await webClientArchive());
      fixture.cleanup();
    }
  }, 60_000);

  test('--no-downloads (or first_start_downloads: false) fetches nothing', async () => {
    const fixture = makeFixtureRoot();
    const before = archives.requests.length;
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1', '--no-downloads'], { VAS_NO_DOWNLOADS: '0', VAS_DOWNLOAD_BASE_URL: archives.baseUrl });
    try {
      await server.waitFor(LISTENING, 30_000);
      expect(archives.requests.length).toBe(before);
      expect(existsSync(path.join(fixture.root, 'frontend'))).toBe(false);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      fixture.cleanup();
    }
  }, 60_000);

  test('--update-downloads (npm run client:update) fetches again over an existing copy and exits', async () => {
    const fixture = makeFixtureRoot();
    fixture.write('frontend/index.html', '<html>an old build</html>');
    const server = runServerProcess(fixture.root, ['--update-downloads'], { VAS_DOWNLOAD_BASE_URL: archives.baseUrl });
    try {
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(readFileSync(path.join(fixture.root, 'frontend/index.html'), 'utf8')).toBe(readFileSync(path.join(SHARED_WEB_CLIENT, 'index.html'), 'utf8'));
      expect(server.output()).not.toMatch(/listening on/);
    } finally {
      server.child.kill('SIGKILL');
      fixture.cleanup();
    }
  }, 60_000);
});
