import { spawn } from 'node:child_process';
import path from 'node:path';
import { launchProgram } from './program-launcher.js';

/**
 * Runs a program to completion and returns its stdout. The caller's abort signal kills it (SIGKILL), so a stopped
 * actor never leaves the process behind; a non-zero exit is an error carrying the program's stderr. A speech
 * engine's programs (`engine`, one per sentence or utterance) start from the program launcher, at the engines' nice
 * value, so that starting them never holds the event loop (program-launcher.ts).
 */
export function runProgram(program: string, args: string[], signal: AbortSignal, options: { engine?: boolean } = {}): Promise<Buffer> {
  if (options.engine) return launchProgram(program, args, signal);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { signal, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${path.basename(program)} exited with ${code}: ${err.trim().slice(0, 200)}`)),
    );
  });
}
