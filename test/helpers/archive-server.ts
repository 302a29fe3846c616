import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { create as createTar } from 'tar';
import { REPO_ROOT } from './fixture-root.js';

/**
 * The real web client and sample model these tests serve (as archives, or to a browser). They are looked for, in
 * order: in the folder VAS_SHARED_DIR names (`web-client/` and `live2d-models/shizuku/` in it); in a folder `shared`
 * beside the repository (laid out the same, as on CI); and in this clone's own `frontend/` and `live2d-models/shizuku/`,
 * which the first `npm start` fetches (and checks file by file against the shipped manifests). A clone with none of
 * them skips the tests that need them and says so in their names (`describeWithShared`).
 */
const SOURCES: ReadonlyArray<{ webClient: string; shizuku: string }> = [
  ...(process.env.VAS_SHARED_DIR ? [path.resolve(process.env.VAS_SHARED_DIR)] : []),
  path.resolve(REPO_ROOT, '..', 'shared'),
].map((dir) => ({ webClient: path.join(dir, 'web-client'), shizuku: path.join(dir, 'live2d-models', 'shizuku') }))
  .concat([{ webClient: path.join(REPO_ROOT, 'frontend'), shizuku: path.join(REPO_ROOT, 'live2d-models', 'shizuku') }]);
const isPresent = (source: { webClient: string; shizuku: string }) =>
  existsSync(path.join(source.webClient, 'index.html')) && existsSync(path.join(source.shizuku, 'runtime'));
const FOUND = SOURCES.find(isPresent) ?? SOURCES[0]!;
export const SHARED_WEB_CLIENT = FOUND.webClient;
export const SHARED_SHIZUKU = FOUND.shizuku;
export const SHARED_PRESENT = isPresent(FOUND);
/** How a skipped test says what it needs. */
export const SHARED_HINT = 'the real web client and model: run `npm start` once (it fetches them), or set VAS_SHARED_DIR';

/** `describe`, or `describe.skip` with how to run it, for tests that serve the real web client and model. */
export function describeWithShared(title: string, body: () => void): void {
  if (SHARED_PRESENT) describe(title, body);
  else describe.skip(`${title} [skipped: needs ${SHARED_HINT}]`, body);
}
export const WEB_COMMIT = 'ac7de8e880d803e4bda64aadda88208708d081ef';
export const UPSTREAM_COMMIT = '19b58b1f6c01e082289fce089392997b9d14fbc4';

/**
 * A tar.gz laid out as GitHub serves a commit's archive: one top folder `<repo>-<commit>/`, the files below it
 * (`inside` places `source` in a subfolder, as live2d-models/shizuku is in the upstream repository). `change` edits
 * the staged copy before packing (to make a file that does not match the manifest).
 */
export async function makeCommitArchive(options: {
  source: string;
  top: string;
  inside?: string;
  exclude?: string[];
  extraFiles?: Record<string, string>;
  change?: (staged: string) => void;
}): Promise<Buffer> {
  const staging = mkdtempSync(path.join(os.tmpdir(), 'vas-archive-'));
  try {
    const into = path.join(staging, options.top, options.inside ?? '');
    mkdirSync(path.dirname(into), { recursive: true });
    cpSync(options.source, into, { recursive: true, filter: (src) => !(options.exclude ?? []).includes(path.basename(src)) });
    for (const [rel, text] of Object.entries(options.extraFiles ?? {})) {
      mkdirSync(path.dirname(path.join(staging, options.top, rel)), { recursive: true });
      writeFileSync(path.join(staging, options.top, rel), text);
    }
    options.change?.(into);
    const chunks: Buffer[] = [];
    const pack = createTar({ gzip: { level: 1 }, cwd: staging, portable: true }, [options.top]);
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export const webClientArchive = (change?: (staged: string) => void) =>
  makeCommitArchive({ source: SHARED_WEB_CLIENT, top: `Open-LLM-VTuber-Web-${WEB_COMMIT}`, exclude: ['SOURCE.txt'], change });

export const upstreamArchive = (change?: (staged: string) => void) =>
  makeCommitArchive({
    source: SHARED_SHIZUKU,
    top: `Open-LLM-VTuber-${UPSTREAM_COMMIT}`,
    inside: 'live2d-models/shizuku',
    extraFiles: { 'README.md': '# upstream\n', 'live2d-models/mao_pro/runtime/mao_pro.model3.json': '{}' },
    change,
  });

export type ArchiveMode = 'whole' | 'cut-off' | 'stall';

/**
 * Stands in for github.com on 127.0.0.1: `/<owner>/<repo>/archive/<commit>.tar.gz` → the registered archive.
 * `cut-off` sends half of it (with the full Content-Length) and destroys the socket; `stall` sends half and waits.
 */
export async function startArchiveServer() {
  const archives = new Map<string, { body: Buffer; mode: ArchiveMode }>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const entry = archives.get(req.url ?? '');
    if (!entry) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-gzip', 'content-length': entry.body.length });
    if (entry.mode === 'whole') {
      res.end(entry.body);
      return;
    }
    res.write(entry.body.subarray(0, Math.floor(entry.body.length / 2)), () => {
      if (entry.mode === 'cut-off') res.socket?.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    requests,
    serve(repository: string, commit: string, body: Buffer, mode: ArchiveMode = 'whole') {
      archives.set(`/${repository}/archive/${commit}.tar.gz`, { body, mode });
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
