import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromCallback, type EventObject } from 'xstate';
import type { GenerateEnd, GenerateJob, LoadedModel, LocalModelSpec } from '../../../machines/local-model-contract.js';
import type { LocalModelEvent } from '../../../machines/local-model.machine.js';
import type { Logger } from '../../observability/logger.js';
import { findPackageDir } from '../find-package.js';
import { runAsEngine } from '../cpu-shares.js';
import { LLAMA_PROCESS_SOURCE } from './llama-process-source.js';

type ProcessMessage =
  | { type: 'ready'; description: string }
  | { type: 'failed'; message: string }
  | { type: 'log'; level: string; message: string }
  | { type: 'text'; id: number; text: string }
  | { type: 'done'; id: number; stopReason: string; tokens: number; afterAbort: number }
  | { type: 'embedded'; id: number; vectors: number[][] }
  | { type: 'error'; id: number; message: string };

/** After SIGTERM, how long a model process may take to end before it is killed. */
const TERM_GRACE_MS = 2000;

/** The ES module entry of the installed node-llama-cpp, as a file URL; undefined when the package is not installed. */
export function nodeLlamaCppEntry(): string | undefined {
  const dir = findPackageDir('node-llama-cpp');
  if (!dir) return undefined;
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { exports?: { '.'?: { import?: string } } };
  return pathToFileURL(path.join(dir, pkg.exports?.['.']?.import ?? 'dist/index.js')).href;
}

/** A load failure as a person reads it: the file, what llama.cpp said, what to do. */
export function loadFailureMessage(spec: LocalModelSpec, said: string): string {
  const file = spec.file;
  if (/memory|VRAM|RAM/i.test(said)) {
    return `${spec.provider}: not enough memory to load ${file} (${said}); choose a smaller model, a smaller context_size, or fewer parallel replies`;
  }
  return `${spec.provider}: ${file} could not be loaded (${said}); the file is damaged, cut short or not a GGUF model: download it again or choose another model_path`;
}

/**
 * The `modelProcess` slot of localModel.machine.ts: one model process (LLAMA_PROCESS_SOURCE) per loaded model. Reports
 * `model.loaded` with a LoadedModel whose generate() runs a reply in the process, `model.failed` when it cannot
 * load, `model.exited` when it dies later. Stopping this actor ends the process (TERM, then KILL), which frees the
 * model's memory at once; replies still running fail.
 */
export function createLlamaModelActor(logger: Logger) {
  return fromCallback<EventObject, LocalModelSpec, EventObject>(({ input: spec, sendBack }) => runModelProcess(spec, logger, sendBack));
}

/** Starts the model process for `spec`, reporting as above; the returned function ends it. For an owning actor. */
export function runModelProcess(spec: LocalModelSpec, logger: Logger, report: (event: LocalModelEvent) => void): () => void {
  if (!existsSync(spec.file)) {
    report({ type: 'model.failed', message: `${spec.provider}: model_path names ${spec.file}, which does not exist; put a GGUF model there or change model_path` });
    return () => undefined;
  }
  const entry = nodeLlamaCppEntry();
  if (!entry) {
    report({ type: 'model.failed', message: `${spec.provider}: the node-llama-cpp package is not installed (run npm install)` });
    return () => undefined;
  }
  const started = Date.now();
  logger.info(`${spec.provider}: loading ${spec.file}`);
  // The program runs from a file in a private temporary folder, not from `-e`: node-llama-cpp tests its binary in a
  // child forked with this process's options, which must not carry `--input-type`. The file is removed as soon as
  // the process has read it (its first message) or has ended.
  const programDir = mkdtempSync(path.join(tmpdir(), 'vas-llama-'));
  const program = path.join(programDir, 'model-process.mjs');
  writeFileSync(program, LLAMA_PROCESS_SOURCE);
  const removeProgram = () => rmSync(programDir, { recursive: true, force: true });
  const child = spawn(process.execPath, [program, entry, JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  // Decoding yields to the event loop that serves every session (cpu-shares.ts); its threads inherit this.
  if (child.pid) runAsEngine(child.pid);
  child.once('message', removeProgram);
  child.once('exit', removeProgram);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
  let loaded = false;
  let stopped = false;
  let failedMessage: string | undefined;
  let nextId = 1;
  /** A job sent to the process: how its answer settles it (a reply's text and end, or an embedding's vectors). */
  type Job = { onText?(text: string): void; resolve?(end: GenerateEnd): void; embedded?(vectors: number[][]): void; reject(err: Error): void };
  const jobs = new Map<number, Job>();
  const failJobs = (err: Error) => {
    for (const job of jobs.values()) job.reject(err);
    jobs.clear();
  };

  /** Sends one job to the process; `answer` says how its answer settles the promise. The signal's abort is sent on. */
  const ask = <T>(message: (id: number) => Record<string, unknown>, answer: (resolve: (value: T) => void) => Omit<Job, 'reject'>, signal: AbortSignal) =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${spec.provider}: the model process has ended`));
      const id = nextId++;
      const onAbort = () => child.connected && child.send({ type: 'abort', id });
      const settle = () => signal.removeEventListener('abort', onAbort);
      jobs.set(id, { ...answer((value) => (settle(), resolve(value))), reject: (err) => (settle(), reject(err)) });
      child.send(message(id));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });

  // The file's name until the process says where the model runs.
  let description = path.basename(spec.file);
  const model: LoadedModel = {
    get description() {
      return description;
    },
    generate: (slot: number, job: GenerateJob, onText: (text: string) => void, signal: AbortSignal) =>
      ask<GenerateEnd>((id) => ({ type: 'generate', id, slot, job }), (resolve) => ({ onText, resolve }), signal),
    embed: (texts: string[], signal: AbortSignal) => ask<number[][]>((id) => ({ type: 'embed', id, texts }), (embedded) => ({ embedded }), signal),
  };

  child.on('message', (message: ProcessMessage) => {
    switch (message.type) {
      case 'ready':
        loaded = true;
        description = `${path.basename(spec.file)} (${message.description})`;
        logger.info(`${spec.provider}: loaded ${model.description} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        report({ type: 'model.loaded', model });
        return;
      case 'failed':
        failedMessage = message.message;
        return;
      case 'log':
        if (spec.verbose || message.level === 'error' || message.level === 'fatal') logger.info(`${spec.provider} (llama.cpp): ${message.message}`);
        return;
      case 'text':
        jobs.get(message.id)?.onText?.(message.text);
        return;
      case 'embedded': {
        const job = jobs.get(message.id);
        jobs.delete(message.id);
        job?.embedded?.(message.vectors);
        return;
      }
      case 'done':
      case 'error': {
        const job = jobs.get(message.id);
        jobs.delete(message.id);
        if (message.type === 'done' && message.stopReason === 'abort') {
          logger.debug(`${spec.provider}: reply ${message.id} stopped by its turn after ${message.tokens} tokens (${message.afterAbort} decoded after the stop reached the model)`);
        }
        if (message.type === 'done') job?.resolve?.({ stopReason: message.stopReason, tokens: message.tokens, afterAbort: message.afterAbort });
        else job?.reject(new Error(`${spec.provider}: ${message.message}`));
      }
    }
  });
  child.on('error', (err) => {
    if (!stopped) report({ type: 'model.failed', message: `${spec.provider}: the model process could not start (${err.message})` });
  });
  child.on('exit', (code, signalName) => {
    failJobs(new Error(`${spec.provider}: the model process ended`));
    if (stopped) return;
    const lastWords = stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join(' ').slice(0, 300);
    if (!loaded) {
      const said = failedMessage ?? (lastWords || `the loader ended with ${signalName ?? `exit code ${code}`}`);
      // Said once per turn that waited for it, by that turn (with its client_uid).
      report({ type: 'model.failed', message: loadFailureMessage(spec, said) });
    } else {
      const message = `${spec.provider}: the process running ${path.basename(spec.file)} ended (${signalName ?? `exit code ${code}`}${lastWords ? `: ${lastWords}` : ''}); it is loaded again on the next reply`;
      logger.warn(message);
      report({ type: 'model.exited', message });
    }
  });

  return () => {
    stopped = true;
    failJobs(new Error(`${spec.provider}: the model was unloaded`));
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (loaded) logger.info(`${spec.provider}: unloading ${path.basename(spec.file)}`);
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), TERM_GRACE_MS);
    kill.unref();
    child.once('exit', () => clearTimeout(kill));
  };
}
