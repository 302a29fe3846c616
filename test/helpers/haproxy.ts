import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findProgram } from '../../src/engines/find-program.js';
import { freePort } from './free-port.js';

/** Debian's HAProxy, when installed (`.ci/run` installs it). */
export const haproxyPath = findProgram('haproxy');


/**
 * The balancer configuration docs/cluster.md gives, for backends on loopback: round robin, WebSocket upgrades passed
 * through (HTTP mode handles them; `timeout tunnel` keeps a quiet socket open), health checks on /healthz so that a
 * dead instance is taken out, and a request that an instance refused, or closed unanswered (it has just died), tried
 * again on another.
 */
export function haproxyConfig(port: number, backends: number[]): string {
  return `global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  retries 2
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
frontend companion
  bind 127.0.0.1:${port}
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /healthz
${backends.map((p, i) => `  server i${i} 127.0.0.1:${p} check inter 200ms fall 1 rise 1`).join('\n')}
`;
}

/** HAProxy in the foreground with that configuration; stop() ends it. */
export async function startHaproxy(backends: number[]) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-haproxy-'));
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backends));
  const child = spawn(haproxyPath!, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  // Listening once a connection is accepted.
  for (let tries = 0; ; tries++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || tries > 200) throw new Error(`haproxy did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
