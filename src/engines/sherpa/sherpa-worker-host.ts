import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { downloadProgressReporter } from './download-progress.js';
import { ensureModelFolder, type DownloadProgress } from './model-download.js';
import { SHERPA_LOAD_PROBE_SOURCE, SHERPA_WORKER_SOURCE } from './sherpa-worker-source.js';
import { findPackageDir } from '../find-package.js';
import { ENGINE_NICE } from '../cpu-shares.js';

/** What a host loads: a sherpa-onnx recogniser or voice, its files, and where its folder comes from when missing. */
export interface SherpaModelSpec {
  kind: 'asr' | 'tts' | 'vad';
  /** The provider name used in messages (`sherpa_onnx_asr`). */
  provider: string;
  /** The sherpa-onnx-node config (OfflineRecognizerConfig / OfflineTtsConfig / VadConfig) with absolute paths. */
  config: unknown;
  /** Files that must exist before loading, each with the config key that names it. */
  files: { key: string; file: string }[];
  /** The model folder and its release archive, when the folder may be downloaded. */
  download?: { folder: string; url: string };
  /** Jobs waiting or running at once; more are refused at once (a queue has a bound). */
  maxQueued: number;
  /** The sherpa-onnx-node package to load (default: the installed one); tests pass a stand-in. */
  modulePath?: string;
}

export type SherpaJob =
  | { kind: 'asr'; samples: Float32Array; sampleRate: number }
  | { kind: 'tts'; text: string; sid: number; speed: number }
  /** Consecutive 512-sample windows of one stream (see openStream). */
  | { kind: 'vad'; stream: number; windows: Float32Array };

/** `speech`: one verdict per window of a 'vad' job, 1 speech, 0 not. */
export type SherpaAnswer = { text: string } | { samples: Float32Array; sampleRate: number } | { speech: Float32Array };

export interface HostLog {
  info(line: string): void;
  warn(line: string): void;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; text?: string; samples?: Float32Array; sampleRate?: number; speech?: Float32Array }
  | { type: 'error'; id: number; message: string };

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/**
 * One loaded sherpa-onnx model on its own worker thread, shared by every session that configures the same model
 * (a model is hundreds of MB; it holds no per-user state). Transcriptions and syntheses run there, one at a time, so
 * the event loop, and with it every other session, never waits on one. A request's signal takes it out of the queue,
 * or, once running, makes its result be dropped. The thread is unref'd, so it never keeps the process alive, and
 * `close()` ends it (and any download) when the server stops.
 */
export class SherpaWorkerHost {
  private worker?: Worker;
  private starting?: Promise<Worker>;
  private nextId = 1;
  private nextStream = 1;
  private readonly pending = new Map<number, { resolve(a: SherpaAnswer): void; reject(e: Error): void }>();
  private readonly lifetime = new AbortController();
  private log: HostLog | undefined;
  private probed = false;
  /** The last failed load and the files it was tried on: unchanged files fail at once instead of being tried again. */
  private failedLoad: { fingerprint: string; error: Error } | undefined;
  /** Set once a download's bytes flow: requests are then answered at once instead of waiting minutes for it. */
  private downloading: DownloadProgress | undefined;

  constructor(readonly spec: SherpaModelSpec) {}

  /** Starts the download/load now (at server start) instead of at the first request; failures are logged. */
  prepare(log: HostLog): void {
    this.log ??= log;
    this.ready().catch((err: Error) => log.warn(`${this.spec.provider}: ${err.message}`));
  }

  async run(job: SherpaJob, signal: AbortSignal): Promise<SherpaAnswer> {
    if (signal.aborted) throw abortError(signal);
    if (this.pending.size >= this.spec.maxQueued) {
      throw new Error(`${this.spec.provider} is busy (${this.pending.size} requests waiting); try again`);
    }
    const id = this.nextId++;
    return new Promise<SherpaAnswer>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.holdProcess();
        this.worker?.postMessage({ type: 'cancel', id });
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = { resolve: (a: SherpaAnswer) => (signal.removeEventListener('abort', onAbort), resolve(a)), reject: (e: Error) => (signal.removeEventListener('abort', onAbort), reject(e)) };
      this.pending.set(id, settle);
      this.holdProcess();
      const ready = this.ready();
      if (this.downloading && this.pending.delete(id)) {
        ready.catch(() => undefined); // its outcome is reported to those who wait for it
        this.holdProcess();
        settle.reject(new Error(this.downloadingMessage(this.downloading)));
        return;
      }
      ready.then(
        (worker) => {
          if (!this.pending.has(id)) return;
          if (job.kind === 'asr') worker.postMessage({ type: 'job', id, samples: job.samples, sampleRate: job.sampleRate });
          else if (job.kind === 'vad') worker.postMessage({ type: 'job', id, stream: job.stream, windows: job.windows });
          else worker.postMessage({ type: 'job', id, text: job.text, sid: job.sid, speed: job.speed });
        },
        (err: Error) => {
          if (this.pending.delete(id)) settle.reject(err);
          this.holdProcess();
        },
      );
    });
  }

  /** A new stream of audio for a 'vad' host: its detector state lives in the thread until `releaseStream`. */
  openStream(): number {
    return this.nextStream++;
  }

  /** Forgets a stream's detector state (a session's voice detection stopped). */
  releaseStream(stream: number): void {
    this.worker?.postMessage({ type: 'release', stream });
  }

  /** Ends the thread and any download or load in progress; waiting requests fail. Safe to call twice. */
  async close(): Promise<void> {
    this.lifetime.abort(new Error(`${this.spec.provider} was shut down`));
    this.failAll(new Error(`${this.spec.provider} was shut down`));
    const worker = this.worker;
    this.worker = undefined;
    this.starting = undefined;
    await worker?.terminate();
  }

  private downloadingMessage({ received, total }: DownloadProgress): string {
    const folder = this.spec.download?.folder;
    if (total !== undefined && received >= total) return `${this.spec.provider}: its model is being unpacked into ${folder}; try again in a moment`;
    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    const done = total ? `${Math.floor((received / total) * 100)}% of ${mb(total)} MB` : `${mb(received)} MB so far`;
    return `${this.spec.provider}: its model is still being downloaded into ${folder} (${done}); try again when it is done`;
  }

  private failAll(err: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.holdProcess();
    for (const p of waiting) p.reject(err);
  }

  /** The thread keeps the process alive only while a request waits on it; idle, it never holds an exit. */
  private holdProcess(): void {
    if (this.pending.size > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  /** The loaded worker; a failed start is forgotten so the next request tries again (the user may fix the model). */
  private ready(): Promise<Worker> {
    if (this.lifetime.signal.aborted) return Promise.reject(abortError(this.lifetime.signal));
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= this.start().catch((err: Error) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async start(): Promise<Worker> {
    const { spec } = this;
    const signal = this.lifetime.signal;
    if (spec.download) {
      const log = this.log;
      const reporter = log ? downloadProgressReporter(`downloading ${spec.download.url}`, (l) => log.info(l)) : undefined;
      let outcome;
      try {
        outcome = await ensureModelFolder({
          ...spec.download,
          signal,
          onProgress: (p: DownloadProgress) => {
            this.downloading = p;
            reporter?.update(p);
          },
        });
      } finally {
        this.downloading = undefined;
        reporter?.done();
      }
      if (outcome === 'downloaded') log?.info(`${spec.provider}: model unpacked into ${spec.download.folder}`);
    }
    for (const { key, file } of spec.files) {
      if (!existsSync(file)) throw new Error(`${spec.provider}: ${key} names ${file}, which does not exist`);
    }
    // VAS_SHERPA_ONNX_MODULE: another build of the library, or a stand-in that spends CPU like a model (bench:local).
    const modulePath = spec.modulePath ?? (process.env.VAS_SHERPA_ONNX_MODULE || findPackageDir('sherpa-onnx-node'));
    if (!modulePath) throw new Error(`${spec.provider}: the sherpa-onnx-node package is not installed (npm install)`);
    if (!this.probed) {
      const fingerprint = spec.files.map(({ file }) => `${file}:${statSync(file).size}:${statSync(file).mtimeMs}`).join('|');
      if (this.failedLoad?.fingerprint === fingerprint) throw this.failedLoad.error;
      const failure = await probeLoad(modulePath, spec, signal);
      if (signal.aborted) throw abortError(signal);
      if (failure) {
        this.failedLoad = { fingerprint, error: new Error(`${spec.provider}: the model failed to load: ${failure}`) };
        throw this.failedLoad.error;
      }
      this.probed = true;
    }
    return this.spawnWorker(modulePath, signal);
  }

  private spawnWorker(modulePath: string, signal: AbortSignal): Promise<Worker> {
    const { spec } = this;
    return new Promise<Worker>((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      // execArgv: [] — the source is CommonJS even when the parent runs with --input-type=module or loaders.
      const worker = new Worker(SHERPA_WORKER_SOURCE, { eval: true, execArgv: [], workerData: { modulePath, kind: spec.kind, config: spec.config, nice: ENGINE_NICE } });
      let loaded = false;
      const onAbort = () => void worker.terminate();
      signal.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (msg: WorkerMessage) => {
        if (msg.type === 'ready') {
          loaded = true;
          this.worker = worker;
          this.holdProcess();
          resolve(worker);
        } else if (msg.type === 'failed') {
          void worker.terminate();
          reject(new Error(`${spec.provider}: the model failed to load: ${msg.message}`));
        } else {
          const waiting = this.pending.get(msg.id);
          if (!waiting) return; // aborted meanwhile: the result has nowhere to go
          this.pending.delete(msg.id);
          this.holdProcess();
          if (msg.type === 'error') waiting.reject(new Error(`${spec.provider}: ${msg.message}`));
          else if (msg.text !== undefined) waiting.resolve({ text: msg.text });
          else if (msg.speech !== undefined) waiting.resolve({ speech: msg.speech });
          else waiting.resolve({ samples: msg.samples!, sampleRate: msg.sampleRate! });
        }
      });
      worker.on('error', (err) => {
        if (!loaded) reject(new Error(`${spec.provider}: the model failed to load: ${err.message}`));
      });
      worker.on('exit', () => {
        signal.removeEventListener('abort', onAbort);
        if (!loaded) reject(new Error(`${spec.provider}: the model failed to load (its thread ended)`));
        if (this.worker === worker) {
          this.worker = undefined;
          this.starting = undefined;
          this.failAll(new Error(`${spec.provider}: its thread ended unexpectedly`));
        }
      });
      // After the listeners: in Node 20 adding a 'message' listener refs the worker's port again. A load that a
      // request waits for holds the process; one started by prepare() does not.
      if (this.pending.size === 0) worker.unref();
    });
  }
}

/**
 * Loads the model once in a child process (SHERPA_LOAD_PROBE_SOURCE) and says why it failed, or undefined when it
 * loaded. The host's signal kills it. Only the end of its error output is kept (sherpa-onnx's debug output is long).
 */
function probeLoad(modulePath: string, spec: SherpaModelSpec, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', SHERPA_LOAD_PROBE_SOURCE, modulePath, spec.kind, JSON.stringify(spec.config)], {
      signal,
      killSignal: 'SIGKILL',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
    child.on('error', (err) => resolve(signal.aborted ? 'aborted' : err.message));
    child.on('close', (code, killedBy) => resolve(code === 0 ? undefined : probeFailure(stderr, killedBy)));
  });
}

/** The probe's last words: a C++ exception's what(), else its last lines; and whether loading killed the process. */
function probeFailure(stderr: string, killedBy: NodeJS.Signals | null): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const what = lines.map((l) => /what\(\):\s*(.*)$/.exec(l)?.[1]).filter(Boolean).at(-1);
  const said = (what ?? lines.slice(-2).join(' ')).slice(0, 400) || 'no message';
  return killedBy ? `${said} (loading it aborted the process)` : said;
}
