import path from 'node:path';
import { createActor, setup, type AnyActorRef } from 'xstate';
import type { McpEvent, McpServerInput } from '../../machines/mcp-server-protocol.js';
import { createMcpServerActor } from '../../src/mcp/mcp-server-actor.js';
import { loadMcpServers } from '../../src/mcp/mcp-servers-file.js';
import { ConfigError } from '../../src/config/config-error.js';
import { createLogger } from '../../src/observability/logger.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { shellWrappedServer } from '../helpers/mcp-fixture.js';
import { alive, descendants, processesWith, settleTo } from '../helpers/process-probes.js';

/** Launched through a shell wrapper, the way `npx`/`uvx` servers are: the tool server is a grandchild. */
const viaShell = (...flags: string[]) => shellWrappedServer(flags).spec;

/** A parent machine that invokes one mcpServer actor and records what it reports. */
function harness(input: Omit<McpServerInput, 'clientUid' | 'callTimeoutMs' | 'startTimeoutMs'> & { callTimeoutMs?: number; startTimeoutMs?: number }) {
  const events: McpEvent[] = [];
  const wakers = new Set<() => void>();
  const parent = setup({
    actors: { mcpServer: createMcpServerActor(createLogger({ silent: true })) },
  }).createMachine({
    initial: 'running',
    states: {
      running: {
        invoke: { id: 'mcp', src: 'mcpServer', input: { clientUid: 'test', callTimeoutMs: input.callTimeoutMs ?? 5000, startTimeoutMs: input.startTimeoutMs ?? 5000, ...input } },
        on: {
          stop: 'stopped',
          '*': {
            actions: ({ event }) => {
              events.push(event as McpEvent);
              for (const wake of wakers) wake();
            },
          },
        },
      },
      stopped: {},
    },
  });
  const actor = createActor(parent).start();
  const call = (callId: string, tool: string, args: Record<string, unknown>) =>
    (actor.getSnapshot().children.mcp as AnyActorRef).send({ type: 'mcp.call', callId, tool, args });
  /** The first reported event that matches, as soon as it is reported; a stall guard of `ms` turns a hang into a failure. */
  const waitFor = (predicate: (e: McpEvent) => boolean, ms = 10000) =>
    new Promise<McpEvent>((resolve, reject) => {
      const check = () => {
        const found = events.find(predicate);
        if (!found) return;
        finish();
        resolve(found);
      };
      const timer = setTimeout(() => (finish(), reject(new Error(`stalled; events: ${JSON.stringify(events.map((e) => e.type))}`))), ms);
      const finish = () => (clearTimeout(timer), wakers.delete(check));
      wakers.add(check);
      check();
    });
  return { actor, events, call, waitFor };
}

describe('mcp_servers.json', () => {
  test('loads upstream\'s format; errors name the server and the key; a missing file means no servers', async () => {
    const fixture = makeFixtureRoot();
    const file = fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { time: { command: 'uvx', args: ['mcp-server-time'] } } }));
    expect(await loadMcpServers(file)).toEqual({ time: { command: 'uvx', args: ['mcp-server-time'] } });
    fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { broken: { args: ['x'] } } }));
    await expect(loadMcpServers(file)).rejects.toThrow(ConfigError);
    await expect(loadMcpServers(file)).rejects.toThrow(/mcp_servers\.broken\.command: server "broken": expected string/);
    expect(await loadMcpServers(path.join(fixture.root, 'nope.json'))).toEqual({});
    fixture.cleanup();
  });
});

describe('an MCP tool server as an actor (stdio, own process group)', () => {
  test('lists its tools, runs calls, and when stopped leaves no process — not even behind a shell wrapper', async () => {
    const before = descendants();
    const h = harness({ name: 'test', spec: { ...viaShell('--grandchild') } });
    const ready = await h.waitFor((e) => e.type === 'mcp.ready');
    expect((ready as Extract<McpEvent, { type: 'mcp.ready' }>).tools.map((t) => t.name).sort()).toEqual(['add', 'echo', 'wait']);
    h.call('c1', 'add', { a: 2, b: 40 });
    expect(await h.waitFor((e) => e.type === 'mcp.result')).toEqual({ type: 'mcp.result', server: 'test', callId: 'c1', content: '42', isError: false });
    const running = descendants().filter((p) => !before.includes(p));
    expect(running.length).toBeGreaterThanOrEqual(3); // sh, the server, its sleep grandchild
    h.actor.send({ type: 'stop' });
    // Checked by pid, not by parentage: an orphaned grandchild is re-parented to init and would escape a tree walk.
    expect(await settleTo(() => running.filter(alive), [], 4000)).toEqual([]);
  }, 30_000);

  test('a server that exits in the middle of a call: an error result, and the actor reports the exit', async () => {
    const h = harness({ name: 'crashy', spec: viaShell('--exit-on-call') });
    await h.waitFor((e) => e.type === 'mcp.ready');
    h.call('c1', 'add', { a: 1, b: 1 });
    const result = await h.waitFor((e) => e.type === 'mcp.result');
    expect(result).toMatchObject({ isError: true, content: expect.stringMatching(/^Error: tool server "crashy" failed: /) });
    await h.waitFor((e) => e.type === 'mcp.exited');
    h.actor.stop();
  }, 30_000);

  test('a server that never answers: a bounded wait, then an error result', async () => {
    // The server never answers `add`: the only way to a result is the actor's own bound (the SDK's request timeout).
    // Starting has a bound of its own (startTimeoutMs), so this one can be short.
    const h = harness({ name: 'sleepy', spec: viaShell('--hang'), callTimeoutMs: 1000 });
    await h.waitFor((e) => e.type === 'mcp.ready');
    h.call('c1', 'add', { a: 1, b: 1 });
    const result = await h.waitFor((e) => e.type === 'mcp.result');
    expect(result).toMatchObject({ isError: true, content: 'Error: tool server "sleepy" did not answer within 1 s' });
    h.call('c2', 'echo', { text: 'still works' });
    expect(await h.waitFor((e) => e.type === 'mcp.result' && e.callId === 'c2')).toMatchObject({ content: 'still works', isError: false });
    h.actor.stop();
  }, 30_000);

  test('starting has its own bound: a slow start within it works even when the call bound is shorter', async () => {
    const h = harness({ name: 'downloading', spec: viaShell('--slow-start=1500'), startTimeoutMs: 10_000, callTimeoutMs: 500 });
    h.call('c1', 'echo', { text: 'after a slow start' });
    expect(await h.waitFor((e) => e.type === 'mcp.result')).toMatchObject({ content: 'after a slow start', isError: false });
    expect(h.events.some((e) => e.type === 'mcp.failed')).toBe(false);
    // …and the call bound still holds for calls.
    h.call('c2', 'wait', { ms: 5000 });
    expect(await h.waitFor((e) => e.type === 'mcp.result' && e.callId === 'c2')).toMatchObject({
      isError: true,
      content: 'Error: tool server "downloading" did not answer within 1 s',
    });
    h.actor.stop();
  }, 30_000);

  test('a start beyond the start bound: mcp.failed naming the bound, the calls waiting get an error, nothing left running', async () => {
    const { spec, tag } = shellWrappedServer(['--slow-start=20000']);
    const h = harness({ name: 'stuck', spec, startTimeoutMs: 600, callTimeoutMs: 30_000 });
    h.call('c1', 'echo', { text: 'never' });
    expect(await h.waitFor((e) => e.type === 'mcp.failed')).toEqual({ type: 'mcp.failed', server: 'stuck', message: 'tool server "stuck" did not start: no answer within 1 s' });
    expect(await h.waitFor((e) => e.type === 'mcp.result')).toMatchObject({ callId: 'c1', isError: true });
    h.actor.send({ type: 'stop' });
    expect(await settleTo(() => processesWith(tag), [], 4000)).toEqual([]);
  }, 30_000);

  test('a server that prints garbage between answers still works', async () => {
    const h = harness({ name: 'noisy', spec: viaShell('--garbage') });
    await h.waitFor((e) => e.type === 'mcp.ready');
    h.call('c1', 'echo', { text: 'hello' });
    expect(await h.waitFor((e) => e.type === 'mcp.result')).toMatchObject({ content: 'hello', isError: false });
    h.actor.stop();
  }, 30_000);

  test('a command that cannot start: mcp.failed with a clear message, nothing left running', async () => {
    const before = descendants();
    const h = harness({ name: 'missing', spec: { command: '/nonexistent/mcp-server', args: [] } });
    const failed = await h.waitFor((e) => e.type === 'mcp.failed');
    expect(failed).toMatchObject({ message: expect.stringMatching(/^tool server "missing" did not start: .*ENOENT/) });
    h.actor.stop();
    expect(descendants().filter((p) => !before.includes(p))).toEqual([]);
  });
});

