import { spawn, type ChildProcess } from 'node:child_process';
import { findProgram } from '../../src/engines/find-program.js';
import { freePort } from './free-port.js';

/** Debian's redis-server, when installed (`.ci/run` installs it); tests that need it say they are skipped without. */
export const redisServerPath = findProgram('redis-server');


/** A real Redis on a free loopback port, nothing saved to disk; stop() and start() again keep its port. */
export async function startRedis() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn(redisServerPath!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('Ready to accept connections')) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`redis-server ended (${code}): ${out.slice(-500)}`)));
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!child || child.exitCode !== null) return resolve();
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop };
}
