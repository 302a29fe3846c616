import { spawn, type ChildProcess } from 'node:child_process';
import { compiledFile } from './compiled-sources.js';

export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in stdout+stderr, or rejects after `ms` / on exit. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The real entry point (`src/main.ts`, compiled as `npm start` runs it: see compiled-sources.ts) as a child process,
 * started in `cwd` as a user would.
 */
export function runServerProcess(cwd: string, args: string[], env: Record<string, string> = {}): ServerProcess {
  const child = spawn(process.execPath, [compiledFile('src/main.ts'), ...args], {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'info', VAS_NO_DOWNLOADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const wakers = new Set<() => void>();
  const onData = (d: Buffer) => {
    text += d.toString('utf8');
    for (const wake of wakers) wake();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of wakers) wake();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, ms = 15000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${ms} ms; output:\n${text}`)), ms);
        const check = () => {
          const m = text.match(pattern);
          if (m) finish(undefined, m);
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`exited before ${pattern}; output:\n${text}`));
        };
        const finish = (err?: Error, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          wakers.delete(check);
          if (err) reject(err);
          else resolve(m!);
        };
        wakers.add(check);
        check();
      });
    },
  };
}
