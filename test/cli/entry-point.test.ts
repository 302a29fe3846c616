import os from 'node:os';
import net, { type AddressInfo } from 'node:net';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { childPids } from '../helpers/process-probes.js';
import { runServerProcess } from '../helpers/server-process.js';
import { TestClient } from '../helpers/ws-client.js';

describe('the entry point as a user runs it', () => {
  const fixture = makeFixtureRoot();
  afterAll(() => fixture.cleanup());

  test('--port 0 picks a free port and logs the URL; SIGTERM closes sessions (1001) and exits once they are closed', async () => {
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1']);
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok', instance_id: `${os.hostname()}-${server.child.pid}`, sessions: 0, actors: 0 });
      const client = await TestClient.connect(`${url!.replace('http', 'ws')}/client-ws`);
      await client.ready();
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      // The graceful path (every session stopped, then exit), not the shutdown deadline's forced exit.
      expect(server.output()).toMatch(/\bstopped\b/);
      expect(server.output()).not.toMatch(/did not close in time/);
      expect(await client.closed).toBe(1001);
      expect(childPids(server.child.pid)).toEqual([]);
      expect(server.output()).toMatch(/SIGTERM: stopping every session/);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 30_000);

  test('SIGINT while a switch is in flight exits cleanly too', async () => {
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1']);
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(`${url!.replace('http', 'ws')}/client-ws`)));
      await Promise.all(clients.map((c) => c.ready()));
      clients[0]!.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
      server.child.kill('SIGINT');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(await Promise.all(clients.map((c) => c.closed))).toEqual([1001, 1001, 1001]);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 30_000);

  test('an invalid conf.yaml stops startup with the file, the key path and what was expected', async () => {
    const bad = makeFixtureRoot();
    bad.write('conf.yaml', (await import('node:fs')).readFileSync(`${fixture.root}/conf.yaml`, 'utf8').replace('port: 12393', 'port: -5'));
    const server = runServerProcess(bad.root, []);
    const exit = await server.exited;
    bad.cleanup();
    expect(exit.code).toBe(1);
    expect(server.output()).toMatch(/configuration error in conf\.yaml: system_config\.port \(line \d+\): .*>=0/);
  }, 30_000);

  test('keys we do not support are reported once at startup', async () => {
    const odd = makeFixtureRoot();
    odd.write('conf.yaml', (await import('node:fs')).readFileSync(`${fixture.root}/conf.yaml`, 'utf8').replace('  enable_proxy: false', '  enable_proxy: false\n  shiny_new_option: 3'));
    const server = runServerProcess(odd.root, ['--port', '0']);
    try {
      await server.waitFor(/listening on/);
      expect(server.output().match(/kept, but ignored/g)).toHaveLength(1);
      expect(server.output()).toMatch(/conf\.yaml: not supported yet \(kept, but ignored\): system_config\.shiny_new_option/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      odd.cleanup();
    }
  }, 30_000);

  test('a bad argument prints the usage and exits 2; --help exits 0', async () => {
    const bad = runServerProcess(fixture.root, ['--port', 'eighty']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toMatch(/--port expects a number from 0 to 65535, got "eighty"/);
    expect(bad.output()).toMatch(/Usage: vtuber-actor-server/);
    const help = runServerProcess(fixture.root, ['--help']);
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toMatch(/--config <path>/);
  }, 30_000);

  test('a port in use is a clear error, not a crash', async () => {
    // Any listener holds the port as well as a second server would.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((holder.address() as AddressInfo).port);
      const second = runServerProcess(fixture.root, ['--port', port, '--host', '127.0.0.1']);
      expect((await second.exited).code).toBe(1);
      expect(second.output()).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*--port 0/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 30_000);
});
