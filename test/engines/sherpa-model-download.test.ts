import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { downloadProgressReporter } from '../../src/engines/sherpa/download-progress.js';
import { ensureModelFolder, ModelDownloadError, modelArchiveUrl, releasesBaseUrl, SHERPA_RELEASES_URL, type DownloadProgress } from '../../src/engines/sherpa/model-download.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';
import { crashOf, runDownloadChild } from '../downloads/download-child.js';
import { startHttp10Server } from '../downloads/http10-server.js';

const NAME = 'sherpa-onnx-demo-model-2024-07-17';

/** A release archive like sherpa-onnx's: `<name>.tar.bz2` holding the folder `<name>/`. */
function buildArchive(model: Buffer = Buffer.alloc(300_000, 7)): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-archive-'));
  mkdirSync(path.join(dir, NAME));
  writeFileSync(path.join(dir, NAME, 'model.int8.onnx'), model);
  writeFileSync(path.join(dir, NAME, 'tokens.txt'), 'a 0\nb 1\n');
  execFileSync('tar', ['-cjf', path.join(dir, 'a.tar.bz2'), '-C', dir, NAME]);
  const bytes = readFileSync(path.join(dir, 'a.tar.bz2'));
  rmSync(dir, { recursive: true, force: true });
  return bytes;
}

interface Release {
  archive: Buffer;
  /** What `<archive>.sha256` answers (undefined: 404). */
  sha256?: string;
  /** Bytes sent before the connection is cut (undefined: all). */
  cutAfter?: number;
  /** Stop sending after this many bytes and keep the connection open. */
  stallAfter?: number;
  requests: string[];
  stalled?: () => void;
}

async function startReleaseServer(release: Release) {
  const server = http.createServer((req, res) => {
    release.requests.push(req.url!);
    if (req.url === `/asr-models/${NAME}.tar.bz2.sha256`) {
      if (release.sha256 === undefined) return void res.writeHead(404).end('Not Found');
      return void res.end(`${release.sha256}  ${NAME}.tar.bz2\n`);
    }
    if (req.url !== `/asr-models/${NAME}.tar.bz2`) return void res.writeHead(404).end('Not Found');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': release.archive.length });
    const limit = release.cutAfter ?? release.stallAfter;
    if (limit === undefined) return void res.end(release.archive);
    res.write(release.archive.subarray(0, limit), () => {
      if (release.cutAfter !== undefined) res.socket?.destroy();
      else release.stalled?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

let archive: Buffer;
let work: string;
let models: string;
let folder: string;
beforeAll(() => {
  archive = buildArchive();
});
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'vas-models-'));
  models = path.join(work, 'models');
  folder = path.join(models, NAME);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** Nothing but complete model folders in models/: no half folder, no temporary left behind. */
const modelsListing = () => (existsSync(models) ? readdirSync(models) : []);

describe('sherpa-onnx model download', () => {
  test('the archive URL is the release asset upstream uses, and its base can be moved by setting or environment', () => {
    expect(modelArchiveUrl(releasesBaseUrl(undefined, {}), 'asr-models', `./models/${NAME}`)).toBe(`${SHERPA_RELEASES_URL}/asr-models/${NAME}.tar.bz2`);
    expect(SHERPA_RELEASES_URL).toBe('https://github.com/k2-fsa/sherpa-onnx/releases/download');
    expect(releasesBaseUrl(undefined, { SHERPA_ONNX_RELEASES_URL: 'http://127.0.0.1:9/r/' })).toBe('http://127.0.0.1:9/r');
    expect(releasesBaseUrl('http://mirror/x', { SHERPA_ONNX_RELEASES_URL: 'http://127.0.0.1:9/r' })).toBe('http://mirror/x');
  });

  test('a missing folder is downloaded and unpacked into models/, with progress up to the full size', async () => {
    const release: Release = { archive, requests: [] };
    const server = await startReleaseServer(release);
    const progress: DownloadProgress[] = [];
    try {
      const url = modelArchiveUrl(server.base, 'asr-models', folder);
      await expect(ensureModelFolder({ folder, url, onProgress: (p) => progress.push(p) })).resolves.toBe('downloaded');
    } finally {
      await server.close();
    }
    expect(readdirSync(folder).sort()).toEqual(['model.int8.onnx', 'tokens.txt']);
    expect(readFileSync(path.join(folder, 'tokens.txt'), 'utf8')).toBe('a 0\nb 1\n');
    expect(modelsListing()).toEqual([NAME]);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ received: archive.length, total: archive.length });
    expect(progress.every((p, i) => i === 0 || p.received > progress[i - 1]!.received)).toBe(true);
  });

  test('a folder that is there is used as it is: nothing is requested', async () => {
    mkdirSync(folder, { recursive: true });
    const release: Release = { archive, requests: [] };
    const server = await startReleaseServer(release);
    try {
      await expect(ensureModelFolder({ folder, url: modelArchiveUrl(server.base, 'asr-models', folder) })).resolves.toBe('present');
    } finally {
      await server.close();
    }
    expect(release.requests).toEqual([]);
  });

  test('a published checksum is checked: a match is kept, a mismatch is refused and leaves nothing', async () => {
    const good = createHash('sha256').update(archive).digest('hex');
    const release: Release = { archive, sha256: good, requests: [] };
    const server = await startReleaseServer(release);
    const url = modelArchiveUrl(server.base, 'asr-models', folder);
    try {
      await expect(ensureModelFolder({ folder, url })).resolves.toBe('downloaded');
      rmSync(folder, { recursive: true });
      release.sha256 = 'ab'.repeat(32);
      const refused = ensureModelFolder({ folder, url });
      await expect(refused).rejects.toThrow(ModelDownloadError);
      await expect(refused).rejects.toThrow(`model folder ${folder} is missing and could not be downloaded from ${url}: checksum mismatch (sha256 ${good}, the release says ${'ab'.repeat(32)}); nothing was kept`);
    } finally {
      await server.close();
    }
    expect(modelsListing()).toEqual([]);
  });

  test('a download cut short leaves no half folder and no temporary', async () => {
    const server = await startReleaseServer({ archive, cutAfter: 100_000 > archive.length ? archive.length >> 1 : 100_000, requests: [] });
    const url = modelArchiveUrl(server.base, 'asr-models', folder);
    try {
      await expect(ensureModelFolder({ folder, url })).rejects.toThrow(new RegExp(`^model folder .*${NAME} is missing and could not be downloaded from .*: the download broke off after \\d+ `));
    } finally {
      await server.close();
    }
    expect(modelsListing()).toEqual([]);
  });

  test('a download aborted by its owner (server shutdown) leaves nothing', async () => {
    const ac = new AbortController();
    const release: Release = { archive, stallAfter: archive.length >> 1, requests: [], stalled: () => ac.abort(new Error('shutting down')) };
    const server = await startReleaseServer(release);
    try {
      await expect(ensureModelFolder({ folder, url: modelArchiveUrl(server.base, 'asr-models', folder), signal: ac.signal })).rejects.toThrow('shutting down');
    } finally {
      await server.close();
    }
    expect(modelsListing()).toEqual([]);
  });

  test('a process killed mid-download leaves no folder under the model name; the next start downloads it whole', async () => {
    const release: Release = { archive, stallAfter: archive.length >> 1, requests: [] };
    const stalled = new Promise<void>((resolve) => (release.stalled = resolve));
    const server = await startReleaseServer(release);
    const url = modelArchiveUrl(server.base, 'asr-models', folder);
    try {
      const script = `import { ensureModelFolder } from ${JSON.stringify(path.join(REPO_ROOT, 'src/engines/sherpa/model-download.ts'))};
        await ensureModelFolder({ folder: ${JSON.stringify(folder)}, url: ${JSON.stringify(url)} });`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await stalled;
      child.kill('SIGKILL');
      await exited;
      expect(existsSync(folder)).toBe(false);
      expect(modelsListing()).toEqual([expect.stringMatching(new RegExp(`^\\.${NAME}\\.download-`))]);
      release.stallAfter = undefined;
      await expect(ensureModelFolder({ folder, url })).resolves.toBe('downloaded');
      expect(readdirSync(folder).sort()).toEqual(['model.int8.onnx', 'tokens.txt']);
      expect(modelsListing()).toEqual([NAME]); // the dead run's temporary is gone too
    } finally {
      await server.close();
    }
  }, 30_000);

  test('offline: one clear error naming the folder and the URL', async () => {
    const server = await startReleaseServer({ archive, requests: [] });
    const base = server.base;
    await server.close(); // nothing listens there any more
    const url = modelArchiveUrl(base, 'asr-models', folder);
    await expect(ensureModelFolder({ folder, url })).rejects.toThrow(
      `model folder ${folder} is missing and could not be downloaded from ${url}: ECONNREFUSED (offline? download it yourself and unpack it into ${models})`,
    );
    expect(modelsListing()).toEqual([]);
  });

  test('a release without that model: the HTTP status is in the error', async () => {
    const server = await startReleaseServer({ archive, requests: [] });
    const url = `${server.base}/asr-models/no-such-model.tar.bz2`;
    try {
      await expect(ensureModelFolder({ folder: path.join(models, 'no-such-model'), url })).rejects.toThrow(`from ${url}: the server answered HTTP 404`);
    } finally {
      await server.close();
    }
    expect(modelsListing()).toEqual([]);
  });

  describe('from an HTTP/1.0 mirror (python http.server: the body ends when the connection closes)', () => {
    // An incompressible model, so the archive is megabytes and the slow reader holds the body paused at the close.
    const model = randomBytes(3 * 1024 * 1024);
    let big: Buffer;
    beforeAll(() => {
      big = buildArchive(model);
    });

    test.each([
      ['with Content-Length', true],
      ['without Content-Length', false],
    ])('read slowly in a process that loads undici: downloaded whole (three times over), %s', async (_name, contentLength) => {
      const mirror = await startHttp10Server();
      mirror.routes.set(`/asr-models/${NAME}.tar.bz2`, { body: big, contentLength });
      try {
        const outcome = await runDownloadChild({ kind: 'model', url: modelArchiveUrl(mirror.base, 'asr-models', folder), folder, slowMs: 3, times: 3 });
        expect(crashOf(outcome)).toBe('');
        expect(outcome.result).toEqual({ ok: 'downloaded' });
      } finally {
        await mirror.close();
      }
      expect(readFileSync(path.join(folder, 'model.int8.onnx')).equals(model)).toBe(true);
      expect(modelsListing()).toEqual([NAME]);
    }, 60_000);

    test('a connection closed mid-body: a ModelDownloadError naming the bytes, and the process lives on', async () => {
      const mirror = await startHttp10Server();
      mirror.routes.set(`/asr-models/${NAME}.tar.bz2`, { body: big, cutAfter: big.length >> 1 });
      try {
        const outcome = await runDownloadChild({ kind: 'model', url: modelArchiveUrl(mirror.base, 'asr-models', folder), folder, slowMs: 1 });
        expect(crashOf(outcome)).toBe('');
        expect(outcome.result?.name).toBe('ModelDownloadError');
        expect(outcome.result?.error).toMatch(new RegExp(`: the download broke off after [1-9]\\d* bytes of ${big.length} \\(ECONNRESET\\)$`));
      } finally {
        await mirror.close();
      }
      expect(modelsListing()).toEqual([]);
    }, 60_000);

    test('a redirect chain to another host is followed (for the checksum file too)', async () => {
      const releases = await startHttp10Server();
      const assets = await startHttp10Server();
      const sum = createHash('sha256').update(big).digest('hex');
      releases.routes.set(`/asr-models/${NAME}.tar.bz2`, { status: 302, location: `${assets.base}/a/1` });
      releases.routes.set(`/asr-models/${NAME}.tar.bz2.sha256`, { status: 302, location: `${assets.base}/a/sum` });
      assets.routes.set('/a/1', { status: 307, location: '/a/2' });
      assets.routes.set('/a/2', { body: big, contentLength: false });
      assets.routes.set('/a/sum', { body: Buffer.from(`${sum}  ${NAME}.tar.bz2\n`) });
      try {
        await expect(ensureModelFolder({ folder, url: modelArchiveUrl(releases.base, 'asr-models', folder) })).resolves.toBe('downloaded');
      } finally {
        await releases.close();
        await assets.close();
      }
      expect(assets.requests).toEqual(['GET /a/sum', 'GET /a/1', 'GET /a/2']);
      expect(readFileSync(path.join(folder, 'model.int8.onnx')).equals(model)).toBe(true);
    });
  });

  test('progress: a redrawn bar on a terminal, a line per tenth in a log', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const bar = downloadProgressReporter('downloading m', () => {}, tty);
    bar.update({ received: 5 * 1024 * 1024, total: 10 * 1024 * 1024 });
    bar.done();
    expect(written).toEqual(['\rdownloading m [###############...............] 50% 5.0/10.0 MB', '\n']);
    const lines: string[] = [];
    const log = downloadProgressReporter('downloading m', (l) => lines.push(l), { isTTY: false } as NodeJS.WriteStream);
    for (let mb = 1; mb <= 20; mb++) log.update({ received: mb * 512 * 1024, total: 10 * 1024 * 1024 });
    expect(lines).toEqual(['downloading m: 0.5 of 10.0 MB', ...Array.from({ length: 10 }, (_, i) => `downloading m: ${(i + 1).toFixed(1)} of 10.0 MB`)]);
  });
});
