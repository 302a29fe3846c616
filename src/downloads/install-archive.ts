import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Unpack } from 'tar';
import { pathExists } from './fs-helpers.js';
import { archiveTopFolder, compareWithManifest } from './download-manifest.js';
import { HttpDownloadError, openDownload, type DownloadResponse } from './http-download.js';
import type { InstallRequest, InstallResult } from '../../machines/asset-download.machine.js';

/** A download that failed for a reason the user can act on (the message says what happened). */
export class DownloadError extends Error {}

const hostOf = (url: string) => (URL.canParse(url) ? new URL(url).host : url);

/** What went wrong before the body started, in the user's words. */
function openFailure(err: unknown, url: string): DownloadError {
  if (!(err instanceof HttpDownloadError)) return new DownloadError(`cannot reach ${hostOf(url)} (${(err as Error).message})`);
  if (err.kind === 'status') return new DownloadError(`${err.url} answered HTTP ${err.status}`);
  if (err.kind === 'redirect') return new DownloadError(err.message);
  return new DownloadError(`cannot reach ${hostOf(err.url)} (${err.detail})`);
}

/**
 * Downloads a GitHub commit archive (tar.gz) and installs the manifest's folder of it into `target`, atomically:
 * the archive is unpacked into a temporary folder beside the target (same file system), every file is checked
 * against the manifest (path and SHA-256), and only then is the folder renamed into place. On any failure or abort
 * the temporary folder is removed, so `target` is either the old one, absent, or complete.
 *
 * Only the manifest's files are unpacked (no links, devices or paths outside the folder: `tar` also refuses `..`
 * and absolute names), so an archive cannot write anywhere else.
 */
export async function installArchive(request: InstallRequest, signal: AbortSignal): Promise<InstallResult> {
  const { manifest, target } = request;
  const parent = path.dirname(target);
  await mkdir(parent, { recursive: true });
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const temp = path.join(parent, `.${path.basename(target)}.download-${stamp}`);
  const previous = path.join(parent, `.${path.basename(target)}.previous-${stamp}`);
  let body: Readable | undefined;
  try {
    let download: DownloadResponse;
    try {
      download = await openDownload(request.url, { signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      throw openFailure(err, request.url);
    }
    const { total } = download;
    body = download.body;

    const prefix = [archiveTopFolder(manifest), ...manifest.folder.split('/').filter(Boolean)];
    const wanted = new Set(manifest.files.map((f) => [...prefix, f.path].join('/')));
    await mkdir(temp);
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        request.onProgress?.(received, total);
        done(null, chunk);
      },
    });
    const unpack = new Unpack({
      cwd: temp,
      strip: prefix.length,
      strict: true,
      // GitHub's archives hold plain files and folders; only the manifest's files are taken.
      filter: (entryPath, entry) => 'type' in entry && entry.type === 'File' && wanted.has(entryPath.replace(/^\.\//, '')),
    });
    try {
      await pipeline(body, counter, unpack, { signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      throw new DownloadError(`the download broke off after ${received} bytes${total ? ` of ${total}` : ''} (${(err as Error).message})`);
    }
    if (total !== undefined && received < total) throw new DownloadError(`the download broke off after ${received} of ${total} bytes`);

    const problems = await compareWithManifest(temp, manifest);
    if (problems.length > 0) {
      const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
      throw new DownloadError(`the archive does not match the manifest, nothing was installed: ${shown}`);
    }
    signal.throwIfAborted();
    const replacing = await pathExists(target);
    if (replacing) await rename(target, previous);
    await rename(temp, target);
    if (replacing) await rm(previous, { recursive: true, force: true });
    return { files: manifest.files.length, bytes: received };
  } finally {
    body?.destroy(); // a no-op once it ended; otherwise its connection is closed
    // After an abort the unpacker may still be finishing a file it had opened: a removal racing it fails with
    // ENOTEMPTY (CI caught a Ctrl-C that left the folder behind). Node retries those, backing off.
    await rm(temp, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  }
}
