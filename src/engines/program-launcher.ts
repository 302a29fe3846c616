import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { runAsEngine } from './cpu-shares.js';

/**
 * Starts the speech programs (espeak-ng, pocketsphinx) from a small helper process instead of from the server.
 * Starting a program forks the process that asks, and a fork costs in proportion to that process's memory: from the
 * server (150–400 MB) it held the event loop 4–16 ms per sentence, every session waiting; from the helper (a bare
 * Node, ~40 MB, no other work) the server only sends a message. The helper runs at the engines' nice value (so do
 * the programs it starts), is started on first use, keeps the server alive only while a program runs, and ends with
 * the server (`closeProgramLauncher`, and the IPC channel's end). A helper that dies fails the runs in flight; the
 * next run starts a new one.
 */

const LAUNCHER_SOURCE = String.raw`
const { spawn } = require('node:child_process');
const running = new Map();
process.on('disconnect', () => { for (const c of running.values()) c.kill('SIGKILL'); process.exit(0); });
process.on('message', (m) => {
  if (m.type === 'kill') { running.get(m.id)?.kill('SIGKILL'); return; }
  let child;
  try {
    child = spawn(m.program, m.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    process.send({ type: 'done', id: m.id, error: String(err.message || err) });
    return;
  }
  running.set(m.id, child);
  const out = [];
  let err = '';
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => { err = (err + d.toString('utf8')).slice(-2000); });
  child.on('error', (e) => { running.delete(m.id); process.send({ type: 'done', id: m.id, error: e.code === 'ENOENT' ? m.program + ' was not found' : String(e.message) }); });
  child.on('close', (code, signal) => {
    if (!running.delete(m.id)) return;
    process.send({ type: 'done', id: m.id, code, signal, stdout: Buffer.concat(out), stderr: err });
  });
});
`;

type LauncherMessage = { type: 'done'; id: number; code?: number | null; signal?: string | null; stdout?: Uint8Array; stderr?: string; error?: string };

interface Job {
  program: string;
  resolve(out: Buffer): void;
  reject(err: Error): void;
}

let launcher: ChildProcess | undefined;
const jobs = new Map<number, Job>();
let nextId = 1;

function holdProcess(): void {
  if (!launcher) return;
  const channel = launcher.channel as { ref(): void; unref(): void } | undefined;
  if (jobs.size > 0) {
    launcher.ref();
    channel?.ref();
  } else {
    launcher.unref();
    channel?.unref();
  }
}

function start(): ChildProcess {
  const child = spawn(process.execPath, ['-e', LAUNCHER_SOURCE], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'advanced' });
  // The helper and every program it starts yield to the event loop (cpu-shares.ts).
  if (child.pid) runAsEngine(child.pid);
  child.on('message', (m: LauncherMessage) => {
    const job = jobs.get(m.id);
    if (!job) return;
    jobs.delete(m.id);
    holdProcess();
    if (m.error) return job.reject(new Error(m.error));
    if (m.code === 0) return job.resolve(Buffer.from(m.stdout ?? new Uint8Array()));
    job.reject(new Error(`${path.basename(job.program)} exited with ${m.code ?? m.signal}: ${(m.stderr ?? '').trim().slice(0, 200)}`));
  });
  child.on('exit', () => {
    if (launcher === child) launcher = undefined;
    const waiting = [...jobs.values()];
    jobs.clear();
    for (const job of waiting) job.reject(new Error(`the program launcher ended while ${path.basename(job.program)} ran`));
  });
  child.on('error', () => undefined);
  return child;
}

/** Runs a program to completion from the helper; its stdout, or an error with its stderr. The signal kills it. */
export function launchProgram(program: string, args: string[], signal: AbortSignal): Promise<Buffer> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  launcher ??= start();
  const child = launcher;
  const id = nextId++;
  return new Promise<Buffer>((resolve, reject) => {
    const onAbort = () => {
      if (!jobs.delete(id)) return;
      holdProcess();
      if (child.connected) child.send({ type: 'kill', id });
      reject(signal.reason ?? new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    jobs.set(id, {
      program,
      resolve: (out) => (signal.removeEventListener('abort', onAbort), resolve(out)),
      reject: (err) => (signal.removeEventListener('abort', onAbort), reject(err)),
    });
    holdProcess();
    child.send({ type: 'run', id, program, args });
  });
}

/** Ends the helper (server stop); runs in flight fail. */
export async function closeProgramLauncher(): Promise<void> {
  const child = launcher;
  launcher = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
