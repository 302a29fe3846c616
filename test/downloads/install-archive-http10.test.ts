import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiveUrl, loadManifest } from '../../src/downloads/download-manifest.js';
import { DownloadError, installArchive } from '../../src/downloads/install-archive.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';
import { SHARED_WEB_CLIENT, webClientArchive, describeWithShared } from '../helpers/archive-server.js';
import { crashOf, runDownloadChild } from './download-child.js';
import { startHttp10Server, type Http10Server } from './http10-server.js';
import type { DownloadManifest } from '../../src/downloads/manifest-format.js';

// First-start downloads from a mirror that answers like `python3 -m http.server` (HTTP/1.0, the body ends when the
// connection closes), read by a slow unpacker. With fetch on undici 7 this killed the process (nodejs/undici#5360).

const WEB = path.join(REPO_ROOT, 'manifests/open-llm-vtuber-web.json');

let web: DownloadManifest;
let archive: Buffer;
let mirror: Http10Server;
let other: Http10Server;
let work: string;
const leftovers = () => readdirSync(work).sort();

beforeAll(async () => {
  web = await loadManifest(WEB);
  archive = await webClientArchive();
  mirror = await startHttp10Server();
  other = await startHttp10Server();
});
afterAll(async () => {
  await mirror.close();
  await other.close();
});
beforeEach(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'vas-dl10-'));
  mirror.routes.clear();
  other.routes.clear();
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const archivePath = () => new URL(archiveUrl(mirror.base, web)).pathname;

describeWithShared('installArchive from an HTTP/1.0 mirror (body ended by the close), in a process that loads undici', () => {
  test.each([
    ['with Content-Length, as python http.server sends', true],
    ['without Content-Length', false],
  ])('a slow unpacker still installs the whole client (three times over), %s', async (_name, contentLength) => {
    mirror.routes.set(archivePath(), { body: archive, contentLength });
    const target = path.join(work, 'frontend');
    const outcome = await runDownloadChild({ kind: 'install', url: archiveUrl(mirror.base, web), manifest: WEB, target, slowMs: 2, times: 3 });
    expect(crashOf(outcome)).toBe('');
    expect(outcome).toMatchObject({ result: { ok: { files: web.files.length, bytes: archive.length } } });
    expect(leftovers()).toEqual(['frontend']);
    for (const file of web.files) {
      expect(readFileSync(path.join(target, file.path)).equals(readFileSync(path.join(SHARED_WEB_CLIENT, file.path)))).toBe(true);
    }
  }, 60_000);

  test('a connection closed short of Content-Length: a DownloadError naming the bytes, the process lives on', async () => {
    const cutAt = Math.floor(archive.length / 2);
    mirror.routes.set(archivePath(), { body: archive, cutAfter: cutAt });
    const outcome = await runDownloadChild({ kind: 'install', url: archiveUrl(mirror.base, web), manifest: WEB, target: path.join(work, 'frontend'), slowMs: 2 });
    expect(crashOf(outcome)).toBe('');
    expect(outcome.result?.name).toBe('DownloadError');
    expect(outcome.result?.error).toMatch(new RegExp(`^the download broke off after \\d+ bytes of ${archive.length} \\(aborted\\)$`));
    const received = Number(/after (\d+) bytes/.exec(outcome.result!.error!)![1]);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(cutAt);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  // Whether a reset shows as ECONNRESET or as an early end depends on timing (libuv reports a hang-up seen while the
  // socket is paused as end of stream); either way the short gzip stream is refused.
  test('a reset in a body without Content-Length: a DownloadError naming the bytes, the process lives on', async () => {
    mirror.routes.set(archivePath(), { body: archive, contentLength: false, cutAfter: Math.floor(archive.length / 2), cut: 'reset' });
    const outcome = await runDownloadChild({ kind: 'install', url: archiveUrl(mirror.base, web), manifest: WEB, target: path.join(work, 'frontend'), slowMs: 2 });
    expect(crashOf(outcome)).toBe('');
    expect(outcome.result).toMatchObject({ name: 'DownloadError', error: expect.stringMatching(/^the download broke off after \d+ bytes \((read ECONNRESET|zlib: unexpected end of file)\)$/) });
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test('a redirect chain to another host (as GitHub sends to codeload) is followed, and the install succeeds', async () => {
    mirror.routes.set(archivePath(), { status: 302, location: `${other.base}/codeload/web.tar.gz` });
    other.routes.set('/codeload/web.tar.gz', { status: 301, location: '/codeload/final.tar.gz' });
    other.routes.set('/codeload/final.tar.gz', { body: archive, contentLength: false });
    const target = path.join(work, 'frontend');
    await expect(installArchive({ url: archiveUrl(mirror.base, web), manifest: web, target }, new AbortController().signal)).resolves.toEqual({
      files: web.files.length,
      bytes: archive.length,
    });
    expect(other.requests).toEqual(['GET /codeload/web.tar.gz', 'GET /codeload/final.tar.gz']);
    expect(leftovers()).toEqual(['frontend']);
  });

  test('a redirect loop is a DownloadError that says so; nothing is written', async () => {
    mirror.routes.set(archivePath(), { status: 302, location: archivePath() });
    const target = path.join(work, 'frontend');
    const failure = installArchive({ url: archiveUrl(mirror.base, web), manifest: web, target }, new AbortController().signal);
    await expect(failure).rejects.toThrow(DownloadError);
    await expect(failure).rejects.toThrow(/more than 5 redirects/);
    expect(leftovers()).toEqual([]);
  });
});
