import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createActor, fromPromise, SimulatedClock, toPromise } from 'xstate';
import { assetDownloadMachine, type InstallRequest, type InstallResult, type ModelInstallRequest } from '../../machines/asset-download.machine.js';
import { archiveUrl, loadManifest, sha256File } from '../../src/downloads/download-manifest.js';
import { installArchive } from '../../src/downloads/install-archive.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';
import { SHARED_WEB_CLIENT, startArchiveServer, upstreamArchive, webClientArchive, describeWithShared } from '../helpers/archive-server.js';
import type { DownloadManifest } from '../../src/downloads/manifest-format.js';

const WEB = path.join(REPO_ROOT, 'manifests/open-llm-vtuber-web.json');
const SHIZUKU = path.join(REPO_ROOT, 'manifests/live2d-shizuku.json');

describeWithShared('first-start downloads: fetched, checked file by file, installed atomically', () => {
  let archives: Awaited<ReturnType<typeof startArchiveServer>>;
  let web: DownloadManifest;
  let shizuku: DownloadManifest;
  let webArchive: Buffer;
  let work: string;
  const signal = () => new AbortController().signal;
  /** Everything in the parent folder: the target must be whole or absent, and no temporary folder may be left. */
  const leftovers = () => readdirSync(work).sort();

  beforeAll(async () => {
    archives = await startArchiveServer();
    web = await loadManifest(WEB);
    shizuku = await loadManifest(SHIZUKU);
    webArchive = await webClientArchive();
  });
  afterAll(() => archives.close());
  beforeEach(() => {
    work = mkdtempSync(path.join(os.tmpdir(), 'vas-dl-'));
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  test('the shipped manifest lists every file of the web client commit with its SHA-256 (libs/*.wasm included)', async () => {
    expect(web.commit).toBe('ac7de8e880d803e4bda64aadda88208708d081ef');
    expect(web.files.map((f) => f.path)).toEqual(expect.arrayContaining(['index.html', 'libs/ort-wasm-simd.wasm', 'libs/live2dcubismcore.min.js']));
    for (const file of web.files) expect(await sha256File(path.join(SHARED_WEB_CLIENT, file.path))).toBe(file.sha256);
  });

  test('success: the web client lands in frontend/, byte for byte', async () => {
    archives.serve(web.repository, web.commit, webArchive);
    const target = path.join(work, 'frontend');
    const progress: number[] = [];
    const result = await installArchive(
      { url: archiveUrl(archives.baseUrl, web), manifest: web, target, onProgress: (received) => progress.push(received) },
      signal(),
    );
    expect(result).toEqual({ files: web.files.length, bytes: webArchive.length });
    expect(progress[progress.length - 1]).toBe(webArchive.length);
    expect(leftovers()).toEqual(['frontend']);
    for (const file of web.files) {
      expect(readFileSync(path.join(target, file.path)).equals(readFileSync(path.join(SHARED_WEB_CLIENT, file.path)))).toBe(true);
    }
    expect(existsSync(path.join(target, 'SOURCE.txt'))).toBe(false);
  });

  test('success: only live2d-models/shizuku/ of the upstream repository archive is installed', async () => {
    archives.serve(shizuku.repository, shizuku.commit, await upstreamArchive());
    const target = path.join(work, 'live2d-models', 'shizuku');
    await installArchive({ url: archiveUrl(archives.baseUrl, shizuku), manifest: shizuku, target }, signal());
    expect(readdirSync(path.join(work, 'live2d-models'))).toEqual(['shizuku']);
    expect(readdirSync(path.join(target, 'runtime')).sort()).toEqual(
      ['motion', 'shizuku.1024', 'shizuku.cdi3.json', 'shizuku.moc3', 'shizuku.model3.json', 'shizuku.physics3.json', 'shizuku.pose3.json'].sort(),
    );
  });

  test('a file that does not match the manifest: nothing is unpacked, and the error names the file', async () => {
    const tampered = await webClientArchive((staged) => writeFileSync(path.join(staged, 'index.html'), '<html>not the client</html>'));
    archives.serve(web.repository, web.commit, tampered);
    const target = path.join(work, 'frontend');
    await expect(installArchive({ url: archiveUrl(archives.baseUrl, web), manifest: web, target }, signal())).rejects.toThrow(
      /does not match the manifest, nothing was installed: index\.html: SHA-256 [0-9a-f]{64}, expected e986cc2d/,
    );
    expect(leftovers()).toEqual([]);
  });

  test('an update whose archive does not match leaves the installed copy as it was', async () => {
    const target = path.join(work, 'frontend');
    archives.serve(web.repository, web.commit, webArchive);
    await installArchive({ url: archiveUrl(archives.baseUrl, web), manifest: web, target }, signal());
    archives.serve(web.repository, web.commit, await webClientArchive((staged) => rmSync(path.join(staged, 'libs', 'ort-wasm.wasm'))));
    await expect(installArchive({ url: archiveUrl(archives.baseUrl, web), manifest: web, target }, signal())).rejects.toThrow(/libs\/ort-wasm\.wasm: missing/);
    expect(leftovers()).toEqual(['frontend']);
    expect(existsSync(path.join(target, 'libs', 'ort-wasm.wasm'))).toBe(true);
  });

  test('an interrupted download leaves no half folder', async () => {
    archives.serve(web.repository, web.commit, webArchive, 'cut-off');
    const target = path.join(work, 'frontend');
    await expect(installArchive({ url: archiveUrl(archives.baseUrl, web), manifest: web, target }, signal())).rejects.toThrow(/broke off/);
    expect(leftovers()).toEqual([]);
  });

  test('no network (connection refused): a clear error, nothing written', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const target = path.join(work, 'frontend');
    await expect(installArchive({ url: archiveUrl(`http://127.0.0.1:${port}`, web), manifest: web, target }, signal())).rejects.toThrow(
      `cannot reach 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expect(leftovers()).toEqual([]);
  });

  test('HTTP 404 from the server is an error naming the URL', async () => {
    const target = path.join(work, 'frontend');
    await expect(installArchive({ url: `${archives.baseUrl}/nobody/nothing/archive/x.tar.gz`, manifest: web, target }, signal())).rejects.toThrow(/answered HTTP 404/);
    expect(leftovers()).toEqual([]);
  });

  describe('owned by an actor', () => {
    /** The real installer, with a way to wait until its clean-up has run. */
    function withRealInstaller() {
      let settled: Promise<unknown> = Promise.resolve();
      const machine = assetDownloadMachine.provide({
        actors: {
          install: fromPromise<InstallResult, InstallRequest | ModelInstallRequest>(({ input, signal }) => {
            const running = installArchive(input as InstallRequest, signal);
            settled = running.catch(() => undefined);
            return running;
          }),
        },
      });
      return { machine, settled: () => settled };
    }

    test('stopping the actor mid-download aborts the request and removes the partial files', async () => {
      archives.serve(web.repository, web.commit, webArchive, 'stall');
      const { machine, settled } = withRealInstaller();
      const target = path.join(work, 'frontend');
      let resolveHalf!: () => void;
      const half = new Promise<void>((resolve) => (resolveHalf = resolve));
      const actor = createActor(machine, {
        input: {
          title: 'web client',
          deadlineMs: 600_000,
          request: { url: archiveUrl(archives.baseUrl, web), manifest: web, target, onProgress: (received) => received >= Math.floor(webArchive.length / 2) && resolveHalf() },
        },
      }).start();
      await half;
      expect(readdirSync(work).some((name) => name.startsWith('.frontend.download-'))).toBe(true);
      actor.stop();
      await settled();
      expect(leftovers()).toEqual([]);
    });

    test('a download that stalls ends at the deadline as a failure, leaving nothing', async () => {
      archives.serve(web.repository, web.commit, webArchive, 'stall');
      const { machine, settled } = withRealInstaller();
      const clock = new SimulatedClock();
      let resolveHalf!: () => void;
      const half = new Promise<void>((resolve) => (resolveHalf = resolve));
      const request = {
        url: archiveUrl(archives.baseUrl, web),
        manifest: web,
        target: path.join(work, 'frontend'),
        onProgress: (received: number) => received >= Math.floor(webArchive.length / 2) && resolveHalf(),
      };
      const actor = createActor(machine, { clock, input: { title: 'web client', deadlineMs: 300_000, request } }).start();
      await half;
      clock.increment(300_000);
      const output = await toPromise(actor);
      await settled();
      expect(output).toEqual({ title: 'web client', installed: false, error: 'it did not finish within 300 s' });
      expect(leftovers()).toEqual([]);
    });
  });
});
