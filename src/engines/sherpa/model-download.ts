import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadText, HttpDownloadError, openDownload, type DownloadResponse } from '../../downloads/http-download.js';
import { runProgram } from '../run-program.js';

/** Where upstream (and sherpa-onnx's docs) fetch models: one `<folder>.tar.bz2` per model under a release tag. */
export const SHERPA_RELEASES_URL = 'https://github.com/k2-fsa/sherpa-onnx/releases/download';

/** Tests and mirrors point this elsewhere; the block's `download_base_url` wins over the environment. */
export function releasesBaseUrl(fromBlock?: string, env: NodeJS.ProcessEnv = process.env): string {
  return (fromBlock || env.SHERPA_ONNX_RELEASES_URL || SHERPA_RELEASES_URL).replace(/\/+$/, '');
}

/** The release archive of a model folder: `asr-models/<name>.tar.bz2` or `tts-models/<name>.tar.bz2`. */
export function modelArchiveUrl(baseUrl: string, tag: 'asr-models' | 'tts-models', folder: string): string {
  return `${baseUrl}/${tag}/${path.basename(folder)}.tar.bz2`;
}

export interface DownloadProgress {
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total?: number;
}

/** A model folder that is missing and could not be fetched; the message names the folder and the URL. */
export class ModelDownloadError extends Error {
  constructor(
    readonly folder: string,
    readonly url: string,
    problem: string,
  ) {
    super(`model folder ${folder} is missing and could not be downloaded from ${url}: ${problem}`);
    this.name = 'ModelDownloadError';
  }
}

export interface EnsureModelOptions {
  folder: string;
  url: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

function describeFailure(err: unknown): string {
  if (err instanceof HttpDownloadError) return err.kind === 'network' ? err.detail : err.message;
  const e = err as { code?: unknown; message?: unknown };
  return typeof e.code === 'string' ? e.code : String(e.message ?? err);
}

/**
 * The release's checksum, when it publishes one next to the archive (`<archive>.sha256`, "hex [name]").
 * sherpa-onnx's GitHub releases do not today, so a 404 just means "nothing to check against".
 */
async function publishedSha256(url: string, signal?: AbortSignal): Promise<string | undefined> {
  let text: string;
  try {
    text = await downloadText(`${url}.sha256`, { signal });
  } catch (err) {
    if (err instanceof HttpDownloadError && err.kind === 'status') return undefined;
    throw err;
  }
  const match = /\b([0-9a-f]{64})\b/i.exec(text);
  return match?.[1]?.toLowerCase();
}

/**
 * Makes sure `folder` exists, downloading and unpacking the model's release archive when it does not. Atomic: the
 * archive is fetched and unpacked in a hidden temporary folder beside it and renamed into place only when complete
 * and checked, so an interrupted or refused download never leaves a half folder under the configured name.
 */
export async function ensureModelFolder({ folder, url, signal, onProgress }: EnsureModelOptions): Promise<'present' | 'downloaded'> {
  if (existsSync(folder)) return 'present';
  const parent = path.dirname(folder);
  const name = path.basename(folder);
  await mkdir(parent, { recursive: true });
  // What a killed earlier run left (never a folder under the model's own name).
  for (const entry of await readdir(parent)) {
    if (entry.startsWith(`.${name}.download-`)) await rm(path.join(parent, entry), { recursive: true, force: true });
  }
  const work = await mkdtemp(path.join(parent, `.${name}.download-`));
  let body: Readable | undefined;
  try {
    let expected: string | undefined;
    let download: DownloadResponse;
    try {
      expected = await publishedSha256(url, signal);
      download = await openDownload(url, { signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (err instanceof HttpDownloadError && err.kind === 'status') throw new ModelDownloadError(folder, url, `the server answered HTTP ${err.status}`);
      if (err instanceof HttpDownloadError && err.kind === 'redirect') throw new ModelDownloadError(folder, url, `${err.detail} (at ${err.url})`);
      throw new ModelDownloadError(folder, url, `${describeFailure(err)} (offline? download it yourself and unpack it into ${parent})`);
    }
    const { total } = download;
    body = download.body;
    const archive = path.join(work, `${name}.tar.bz2`);
    const hash = createHash('sha256');
    let received = 0;
    body.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      onProgress?.({ received, total });
    });
    try {
      await pipeline(body, createWriteStream(archive), { signal });
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      throw new ModelDownloadError(folder, url, `the download broke off after ${received} bytes${total ? ` of ${total}` : ''} (${describeFailure(err)})`);
    }
    if (total !== undefined && received !== total) {
      throw new ModelDownloadError(folder, url, `the download broke off after ${received} of ${total} bytes`);
    }
    const actual = hash.digest('hex');
    if (expected && actual !== expected) {
      throw new ModelDownloadError(folder, url, `checksum mismatch (sha256 ${actual}, the release says ${expected}); nothing was kept`);
    }
    const unpacked = path.join(work, 'unpacked');
    await mkdir(unpacked);
    try {
      await runProgram('tar', ['-xjf', archive, '-C', unpacked], signal ?? new AbortController().signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ModelDownloadError(folder, url, `the archive could not be unpacked (${(err as Error).message})`);
    }
    const entries = await readdir(unpacked);
    const top = entries.includes(name) ? name : entries.length === 1 ? entries[0]! : undefined;
    if (!top || !(await stat(path.join(unpacked, top))).isDirectory()) {
      throw new ModelDownloadError(folder, url, `the archive does not hold a folder named ${name}`);
    }
    try {
      await rename(path.join(unpacked, top), folder);
    } catch (err) {
      // Someone else finished the same download first: theirs is complete too.
      if (!existsSync(folder)) throw err;
    }
    return 'downloaded';
  } finally {
    body?.destroy(); // a no-op once it ended; otherwise its connection is closed
    await rm(work, { recursive: true, force: true });
  }
}
