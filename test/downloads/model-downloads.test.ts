import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadAppConfig } from '../../src/config/app-config.js';
import type { ModelManifest } from '../../src/downloads/manifest-format.js';
import { loadModelManifests, planModelDownloads, runModelDownloads } from '../../src/downloads/model-downloads.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer } from '../../src/server/start-server.js';
import { makeFixtureRoot, REPO_ROOT } from '../helpers/fixture-root.js';
import { startHttp10Server, type Http10Server } from './http10-server.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';
import { TestClient } from '../helpers/ws-client.js';

/**
 * The first start's model downloads (manifests/models/), on synthetic models the test makes with manifests of its
 * own, served by a local host that answers like python's http.server (HTTP/1.0, the body ends at the close): what
 * is installed and checked, what a broken download leaves (nothing), and what the character says meanwhile.
 */

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const logger = createLogger({ silent: true });

/** A tar.bz2 holding `top/` with the given files, as sherpa-onnx's releases are laid out. */
function bz2Archive(top: string, files: Record<string, string>): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-model-archive-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, top, name)), { recursive: true });
    writeFileSync(path.join(dir, top, name), text);
  }
  execFileSync('tar', ['-cjf', path.join(dir, 'a.tar.bz2'), '-C', dir, top]);
  const archive = readFileSync(path.join(dir, 'a.tar.bz2'));
  rmSync(dir, { recursive: true, force: true });
  return archive;
}

describe('model downloads: pinned, checked, installed atomically', () => {
  let host: Http10Server;
  let gguf: Buffer;
  let voice: Buffer;
  const fixture = makeFixtureRoot({ shippedEngines: true });
  const manifestsDir = path.join(fixture.root, 'test-manifests');
  const mind = (extra: Partial<ModelManifest> = {}): ModelManifest => ({
    role: 'mind',
    title: 'tiny mind',
    kind: 'file',
    url: `${host.base}/mind.gguf`,
    bytes: gguf.length,
    sha256: sha256(gguf),
    target: 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf',
    requires: [],
    license: 'test',
    source: 'written by the test',
    ...extra,
  });
  const voiceManifest = (): ModelManifest => ({
    role: 'voice',
    title: 'tiny voice',
    kind: 'archive',
    url: `${host.base}/voice.tar.bz2`,
    bytes: voice.length,
    sha256: sha256(voice),
    target: 'models/vits-piper-en_US-libritts_r-medium',
    top: 'vits-piper-en_US-libritts_r-medium',
    requires: ['en_US-libritts_r-medium.onnx', 'tokens.txt', 'espeak-ng-data'],
    license: 'test',
    source: 'written by the test',
  });
  const writeManifests = (...manifests: ModelManifest[]) => {
    rmSync(manifestsDir, { recursive: true, force: true });
    mkdirSync(manifestsDir);
    manifests.forEach((m, i) => writeFileSync(path.join(manifestsDir, `${i}.json`), JSON.stringify(m)));
  };
  const plan = async (off = false) => {
    const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
    const needed = [path.join(fixture.root, 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf'), path.join(fixture.root, 'models/vits-piper-en_US-libritts_r-medium/tokens.txt')];
    return { app, board: await planModelDownloads({ app, packageRoot: REPO_ROOT, needed, off }) };
  };
  const models = () => (existsSync(path.join(fixture.root, 'models')) ? readdirSync(path.join(fixture.root, 'models')).sort() : []);

  beforeAll(async () => {
    host = await startHttp10Server();
    const file = path.join(fixture.root, 'tiny.gguf');
    await writeTinyGguf(file, { seed: 3 });
    gguf = readFileSync(file);
    voice = bz2Archive('vits-piper-en_US-libritts_r-medium', { 'en_US-libritts_r-medium.onnx': 'onnx', 'tokens.txt': 'a 1\n', 'espeak-ng-data/phontab': 'x' });
    process.env.VAS_MODEL_MANIFESTS = manifestsDir;
  });
  afterAll(async () => {
    delete process.env.VAS_MODEL_MANIFESTS;
    await host.close();
    fixture.cleanup();
  });
  beforeEach(() => rmSync(path.join(fixture.root, 'models'), { recursive: true, force: true }));

  test('the shipped manifests are valid, and the shipped conf.yaml uses one mind, one pair of ears and one voice', async () => {
    const shipped = await loadModelManifests(path.join(REPO_ROOT, 'manifests', 'models'));
    const conf = readFileSync(path.join(REPO_ROOT, 'conf.yaml'), 'utf8');
    const used = shipped.filter((m) => conf.includes(`./${m.target}`));
    expect(used.map((m) => m.role).sort()).toEqual(['ears', 'mind', 'voice']);
  });

  test('a file and an archive from an HTTP/1.0 host: smallest first, checked, installed; nothing else is left', async () => {
    writeManifests(mind(), voiceManifest());
    host.routes.set('/mind.gguf', { body: gguf });
    host.routes.set('/voice.tar.bz2', { body: voice, contentLength: false }); // only the close ends this body
    const { app, board } = await plan();
    expect(board.list().map((e) => e.state)).toEqual(['waiting', 'waiting']);
    const outputs = await runModelDownloads(board, { app, logger }).done;
    expect(outputs.map((o) => [o.title, o.installed])).toEqual([['tiny voice', true], ['tiny mind', true]]);
    expect(models()).toEqual(['qwen2.5-0.5b-instruct-q4_k_m.gguf', 'vits-piper-en_US-libritts_r-medium']);
    expect(readFileSync(path.join(fixture.root, 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf')).equals(gguf)).toBe(true);
    expect(readdirSync(path.join(fixture.root, 'models/vits-piper-en_US-libritts_r-medium')).sort()).toEqual(['en_US-libritts_r-medium.onnx', 'espeak-ng-data', 'tokens.txt']);
    expect(board.describePending()).toBeUndefined();
    // Present now: the next start plans nothing.
    expect((await plan()).board.list()).toEqual([]);
  });

  test.each([
    ['a checksum that does not match', () => mind({ sha256: '0'.repeat(64) }), {}, /checksum mismatch .*nothing was installed/],
    ['a connection cut in the middle', () => mind(), { cutAfter: 100_000 }, /broke off after 0\.1 MB of 0\.5 MB/],
    ['a reset in the middle of a close-delimited body', () => mind(), { cutAfter: 100_000, cut: 'reset' as const, contentLength: false }, /broke off/],
    ['a host that cannot be reached (offline)', () => mind({ url: 'http://127.0.0.1:1/nothing' }), undefined, /cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\)/],
    ['a host that answers 404', () => mind({ url: 'MISSING' }), undefined, /HTTP 404/],
  ])('%s: the download fails with a clear reason and leaves no file', async (_what, manifest, route, reason) => {
    const m = manifest();
    writeManifests(m.url === 'MISSING' ? { ...m, url: `${host.base}/nothing.gguf` } : m);
    if (route) host.routes.set('/mind.gguf', { body: gguf, ...route });
    const { app, board } = await plan();
    const [output] = await runModelDownloads(board, { app, logger }).done;
    expect(output!.installed).toBe(false);
    expect(output!.error).toMatch(reason);
    expect(board.list()[0]!.state).toBe('failed');
    expect(models()).toEqual([]); // not even a hidden temporary folder
    expect(board.describePending()).toMatch(/^My mind \(the language model\) could not be downloaded \(.+\)\. To fetch what is missing, run: npm run models:fetch, then start me again\.$/);
  });
});

describe('while the models download, the page already works: the character says where things stand', () => {
  const fixture = makeFixtureRoot({ shippedEngines: true });
  const manifestsDir = path.join(fixture.root, 'test-manifests');
  let release: () => void = () => undefined;
  let held: http.Server;
  const body = Buffer.alloc(1_000_000, 7);
  beforeAll(async () => {
    // Sends 43 % of the file, then holds the rest until the test lets it go.
    held = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 430_000));
      release = () => res.end(body.subarray(430_000));
    });
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    mkdirSync(manifestsDir);
    const manifest: ModelManifest = {
      role: 'mind', title: 'held mind', kind: 'file', url: `http://127.0.0.1:${(held.address() as AddressInfo).port}/m.gguf`,
      bytes: body.length, sha256: createHash('sha256').update(body).digest('hex'), target: 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      requires: [], license: 'test', source: 'test',
    };
    writeFileSync(path.join(manifestsDir, 'mind.json'), JSON.stringify(manifest));
    // The voice is bigger, so it comes second: it is still waiting while the mind downloads.
    const voice: ModelManifest = {
      ...manifest, role: 'voice', title: 'held voice', kind: 'archive', bytes: 3 * 1048576, target: 'models/vits-piper-en_US-libritts_r-medium',
      top: 'vits-piper-en_US-libritts_r-medium', requires: ['tokens.txt'],
    };
    writeFileSync(path.join(manifestsDir, 'voice.json'), JSON.stringify(voice));
    process.env.VAS_MODEL_MANIFESTS = manifestsDir;
  });
  afterAll(async () => {
    delete process.env.VAS_MODEL_MANIFESTS;
    release();
    held.closeAllConnections();
    await new Promise((resolve) => held.close(resolve));
    fixture.cleanup();
  });

  test('a text turn during the download: the offline talker tells how far the mind is, spoken by the offline voice', async () => {
    const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
    const board = await planModelDownloads({ app, packageRoot: REPO_ROOT, needed: [path.join(fixture.root, 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf'), path.join(fixture.root, 'models/vits-piper-en_US-libritts_r-medium/tokens.txt')], off: false });
    const server = await startServer({ app, host: '127.0.0.1', port: 0, logger, models: board });
    const run = runModelDownloads(board, { app, logger });
    try {
      const client = await TestClient.connect(server.wsUrl);
      await client.ready();
      while (board.list()[0]!.received < 430_000) await new Promise((resolve) => setImmediate(resolve));
      client.frames.length = 0;
      client.send({ type: 'text-input', text: 'Hello?', images: [] });
      await client.next('backend-synth-complete', 1, 20_000);
      const said = client.ofType('audio').map((f) => (f.display_text as { text: string }).text).join('');
      expect(said).toBe('My mind (the language model) is still downloading: 43 % of 1 MB; my voice is waiting to download (3 MB). I will talk properly as soon as it is here.');
      // Spoken by the offline voice (espeak-ng) while the character's own voice waits: real audio, no error.
      expect(client.ofType('error')).toEqual([]);
      expect(client.ofType('audio').every((f) => typeof f.audio === 'string' && (f.audio as string).length > 1000)).toBe(true);
      release();
      while (board.list()[0]!.state === 'downloading') await new Promise((resolve) => setImmediate(resolve));
      expect(board.list()[0]!.state).toBe('installed');
      await client.close();
    } finally {
      await run.stop();
      await server.stop();
    }
  }, 60_000);

  test('downloads off (--no-downloads): the talker says what is missing and the command that fetches it', async () => {
    rmSync(path.join(fixture.root, 'models'), { recursive: true, force: true });
    const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
    const board = await planModelDownloads({ app, packageRoot: REPO_ROOT, needed: [path.join(fixture.root, 'models/qwen2.5-0.5b-instruct-q4_k_m.gguf')], off: true });
    expect(board.list().map((e) => e.manifest.title)).toEqual(['held mind']);
    const server = await startServer({ app, host: '127.0.0.1', port: 0, logger, models: board });
    try {
      const client = await TestClient.connect(server.wsUrl);
      await client.ready();
      client.frames.length = 0;
      client.send({ type: 'text-input', text: 'Hello?', images: [] });
      await client.next('backend-synth-complete', 1, 20_000);
      const said = client.ofType('audio').map((f) => (f.display_text as { text: string }).text).join('');
      expect(said).toBe('My mind (the language model) is not downloaded (1 MB). To fetch what is missing, run: npm run models:fetch, then start me again.');
      await client.close();
    } finally {
      await server.stop();
    }
  }, 60_000);
});
