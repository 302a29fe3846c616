import { spawn } from 'node:child_process';
import { compiledFile } from '../helpers/compiled-sources.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';

/**
 * Runs one download in a child process set up as the server is: `undici` is loaded first (engine-http.ts does), so
 * its Agent is global fetch's dispatcher — in a jest worker it is not, and the undici crash this guards against
 * (nodejs/undici#5360) cannot happen there. The reader is made slow by blocking for `slowMs` on every chunk, so the
 * body sits paused under backpressure when the server closes. The download runs `times` times (a model's folder is
 * removed in between; an install replaces its target): whether the close meets a paused body is a race, and repeats
 * make a crash near certain where one is possible. A crash shows as a non-zero exit with its stderr.
 */
export type DownloadJob =
  | { kind: 'install'; url: string; manifest: string; target: string; slowMs: number; times?: number }
  | { kind: 'model'; url: string; folder: string; slowMs: number; times?: number };

export interface ChildOutcome {
  code: number | null;
  stderr: string;
  /** What the download resolved to, or the error it threw (its class name and message). */
  result?: { ok?: unknown; error?: string; name?: string };
}

/** The child's program, importing the compiled sources (test/helpers/compiled-sources.ts). */
const script = () => `
import 'undici';
const job = JSON.parse(process.env.VAS_DOWNLOAD_JOB);
const onProgress = () => { const until = Date.now() + job.slowMs; while (Date.now() < until); };
let result;
try {
  if (job.kind === 'install') {
    const { installArchive } = await import(${JSON.stringify(compiledFile('src/downloads/install-archive.ts'))});
    const { loadManifest } = await import(${JSON.stringify(compiledFile('src/downloads/download-manifest.ts'))});
    const manifest = await loadManifest(job.manifest);
    for (let i = 0; i < (job.times ?? 1); i++) {
      result = { ok: await installArchive({ url: job.url, manifest, target: job.target, onProgress }, new AbortController().signal) };
    }
  } else {
    const { ensureModelFolder } = await import(${JSON.stringify(compiledFile('src/engines/sherpa/model-download.ts'))});
    const { rm } = await import('node:fs/promises');
    for (let i = 0; i < (job.times ?? 1); i++) {
      if (i > 0) await rm(job.folder, { recursive: true });
      result = { ok: await ensureModelFolder({ folder: job.folder, url: job.url, onProgress }) };
    }
  }
} catch (err) {
  result = { error: err.message, name: err.constructor.name };
}
process.stdout.write(JSON.stringify(result));
`;

/** The child's stderr when it did not exit cleanly (a crash), else '' — so a failed expectation shows why. */
export const crashOf = (outcome: ChildOutcome) => (outcome.code === 0 ? '' : `exit ${outcome.code}: ${outcome.stderr}`);

export function runDownloadChild(job: DownloadJob): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script()], {
      cwd: REPO_ROOT,
      env: { ...process.env, VAS_DOWNLOAD_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, result: stdout ? (JSON.parse(stdout) as ChildOutcome['result']) : undefined }));
  });
}
