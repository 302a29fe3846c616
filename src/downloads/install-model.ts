import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { InstallResult, ModelInstallRequest } from '../../machines/asset-download.machine.js';
import { runProgram } from '../engines/run-program.js';
import { HttpDownloadError, openDownload, type DownloadResponse } from './http-download.js';
import { DownloadError } from './install-archive.js';
import { megabytes, pathExists } from './fs-helpers.js';

const mb = (n: number) => `${megabytes(n)} MB`;

/**
 * Downloads a model (manifests/models/) and installs it atomically: the bytes go to a hidden temporary folder beside
 * the target (same file system), are checked against the manifest's size and SHA-256, an archive is unpacked there
 * and its folder checked for the files the model needs, and only then is the result renamed into place. Any failure
 * or abort removes the temporary folder, so the target is either absent (or the old one) or complete and checked.
 */
export async function installModel(request: ModelInstallRequest, signal: AbortSignal): Promise<InstallResult> {
  const { manifest, target } = request;
  const parent = path.dirname(target);
  await mkdir(parent, { recursive: true });
  const temp = await mkdtemp(path.join(parent, `.${path.basename(target)}.download-`));
  try {
    let res: DownloadResponse;
    try {
      res = await openDownload(request.url, { signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      if (err instanceof HttpDownloadError && err.kind === 'network') throw new DownloadError(`cannot reach ${new URL(err.url).host} (${err.detail})`);
      throw new DownloadError((err as Error).message);
    }
    const total = res.total ?? manifest.bytes;
    const download = path.join(temp, manifest.kind === 'file' ? path.basename(target) : 'archive');
    const hash = createHash('sha256');
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        hash.update(chunk);
        request.onProgress?.(received, total);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res.body, counter, createWriteStream(download), { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DownloadError(`the download broke off after ${mb(received)} of ${mb(total)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (received < total) throw new DownloadError(`the download broke off after ${mb(received)} of ${mb(total)}`);
    if (received !== manifest.bytes) throw new DownloadError(`the file is ${received} bytes, the manifest says ${manifest.bytes}; nothing was installed`);
    const sha256 = hash.digest('hex');
    if (sha256 !== manifest.sha256) throw new DownloadError(`checksum mismatch (SHA-256 ${sha256}, the manifest says ${manifest.sha256}); nothing was installed`);

    let ready = download;
    if (manifest.kind === 'archive') {
      const unpacked = path.join(temp, 'unpacked');
      await mkdir(unpacked);
      try {
        // GNU tar recognises the compression (bzip2, gzip, xz) by itself when extracting.
        await runProgram('tar', ['-xf', download, '-C', unpacked, '--no-same-owner'], signal, { engine: true });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DownloadError(`the archive could not be unpacked (${(err as Error).message})`);
      }
      ready = path.join(unpacked, manifest.top ?? path.basename(target));
      const missing = [];
      for (const file of manifest.requires) if (!(await pathExists(path.join(ready, file)))) missing.push(file);
      if (missing.length > 0) throw new DownloadError(`the archive has no ${manifest.top}/${missing.join(`, ${manifest.top}/`)}; nothing was installed`);
    }
    signal.throwIfAborted();
    const aside = path.join(temp, 'previous');
    const replacing = await pathExists(target);
    if (replacing) await rename(target, aside);
    await rename(ready, target);
    return { files: manifest.kind === 'file' ? 1 : manifest.requires.length, bytes: received };
  } finally {
    await rm(temp, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  }
}
