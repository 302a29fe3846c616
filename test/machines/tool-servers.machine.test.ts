import { createActor, SimulatedClock, type AnyActorRef } from 'xstate';
import { sharedToolServerMachine } from '../../machines/shared-tool-server.machine.js';
import { sharedServerKey, toolServersMachine } from '../../machines/tool-servers.machine.js';
import type { McpServerSpec } from '../../src/mcp/mcp-server-spec.js';
import { ECHO_TOOLS, fakeMcpProcesses, recorder } from '../helpers/fake-mcp-process.js';

/**
 * machines/tool-servers.machine.ts: the server's pool of shared tool servers, with the real shared-tool-server
 * machine under it and a fake process under that, on a simulated clock.
 */

const SPEC: McpServerSpec = { command: 'tool-server', args: [] };
const BOUNDS = { startTimeoutMs: 120_000, callTimeoutMs: 30_000 };

function pool(idleStopMs = 60_000) {
  const processes = fakeMcpProcesses();
  const clock = new SimulatedClock();
  const actor = createActor(
    toolServersMachine.provide({
      actors: { sharedToolServer: sharedToolServerMachine.provide({ actors: { sharedMcpServer: processes.logic }, delays: { idleStop: idleStopMs } }) },
    }),
    { clock },
  ).start();
  const call = (callId: string, tool: string, args: Record<string, unknown>, replyTo: AnyActorRef, spec = SPEC, server = 'tools') =>
    actor.send({ type: 'toolServers.call', server, spec, bounds: BOUNDS, callId, tool, args, replyTo });
  return { actor, clock, processes, call };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('shared tool servers: the pool', () => {
  test('calls from several callers go through one process, each answer to its caller; stopping the pool ends it', async () => {
    const p = pool();
    const callers = [recorder(), recorder(), recorder()];
    callers.forEach((c, i) => p.call(`c${i}`, 'echo', { text: `for ${i}` }, c.ref));
    await flush();
    expect(p.processes.started()).toBe(1);
    callers.forEach((c, i) => expect(c.got).toEqual([{ type: 'mcp.result', server: 'tools', callId: `c${i}`, content: `for ${i}`, isError: false }]));
    p.actor.stop();
    expect(p.processes.live.size).toBe(0);
  });

  test('a tool-list request starts the server too, with the list known if the caller knows it', async () => {
    const p = pool();
    const asker = recorder();
    p.actor.send({ type: 'toolServers.list', server: 'tools', spec: SPEC, bounds: BOUNDS, replyTo: asker.ref });
    await flush();
    expect(asker.got).toEqual([{ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS }]);
    p.actor.send({ type: 'toolServers.list', server: 'other', spec: { ...SPEC, args: ['--other'] }, bounds: BOUNDS, knownTools: ECHO_TOOLS, replyTo: asker.ref });
    expect(p.processes.log).toEqual(['start 1 tools', 'start 2 other (tools known)']);
  });

  test('one process per configuration: another command, arguments, environment, folder or timeout is another server', async () => {
    const p = pool();
    const caller = recorder();
    const specs: McpServerSpec[] = [SPEC, { ...SPEC, args: ['-v'] }, { ...SPEC, env: { A: '1' } }, { ...SPEC, cwd: '/tmp' }, { ...SPEC, timeout: 5 }, { ...SPEC }];
    specs.forEach((spec, i) => p.call(`c${i}`, 'echo', { text: String(i) }, caller.ref, spec));
    await flush();
    expect(p.processes.started()).toBe(5);
    expect(Object.keys(p.actor.getSnapshot().children)).toEqual(['shared.0', 'shared.1', 'shared.2', 'shared.3', 'shared.4']);
    expect(new Set(specs.map(sharedServerKey)).size).toBe(5);
    expect(sharedServerKey({ ...SPEC, per_session: false })).toBe(sharedServerKey(SPEC)); // not part of the process
  });

  test('a cancel reaches the running server of its configuration; with none running it is dropped', async () => {
    const p = pool();
    p.actor.send({ type: 'toolServers.cancel', spec: SPEC, callId: 'nothing' });
    expect(p.processes.started()).toBe(0);
    p.call('slow', 'wait', {}, recorder().ref);
    p.actor.send({ type: 'toolServers.cancel', spec: SPEC, callId: 'slow' });
    expect(p.processes.log).toEqual(['start 1 tools', 'mcp.call slow', 'mcp.cancel slow']);
  });

  test('idle for the bound: the process is ended and released; a call in flight keeps it; the next call starts it again', async () => {
    const p = pool(10_000);
    const caller = recorder();
    p.call('slow', 'wait', {}, caller.ref);
    await flush();
    p.clock.increment(60_000); // a call in flight: not idle
    expect(p.processes.live.size).toBe(1);
    p.actor.send({ type: 'toolServers.cancel', spec: SPEC, callId: 'slow' });
    expect(p.processes.log).toContain('mcp.cancel slow');
    p.clock.increment(9_999);
    expect(p.processes.live.size).toBe(1);
    p.call('c1', 'echo', { text: 'again' }, caller.ref); // a call resets the bound
    await flush();
    p.clock.increment(9_999);
    expect(p.processes.live.size).toBe(1);
    p.clock.increment(1);
    expect(p.processes.live.size).toBe(0);
    expect(p.processes.log.at(-1)).toBe('end 1');
    expect(Object.keys(p.actor.getSnapshot().children)).toEqual([]);

    p.call('c2', 'echo', { text: 'back' }, caller.ref);
    await flush();
    expect(p.processes.started()).toBe(2);
    expect(Object.keys(p.actor.getSnapshot().children)).toEqual(['shared.1']); // ids are not reused
    expect(caller.got.at(-1)).toMatchObject({ callId: 'c2', content: 'back' });
    p.actor.stop();
    expect(p.processes.live.size).toBe(0);
  });

  test('a process that exits: its calls in flight get an error result, the next call starts a new one', async () => {
    const p = pool();
    const a = recorder();
    const b = recorder();
    p.call('a1', 'wait', {}, a.ref);
    p.call('b1', 'wait', {}, b.ref);
    await flush();
    p.processes.crash(1);
    await flush();
    for (const [caller, id] of [[a, 'a1'], [b, 'b1']] as const) {
      expect(caller.got).toEqual([{ type: 'mcp.result', server: 'tools', callId: id, content: 'Error: tool server "tools" exited', isError: true }]);
    }
    expect(p.processes.live.size).toBe(0);
    p.call('a2', 'echo', { text: 'fresh' }, a.ref);
    await flush();
    expect(p.processes.started()).toBe(2);
    expect(a.got.at(-1)).toMatchObject({ callId: 'a2', content: 'fresh', isError: false });
    p.actor.stop();
  });
});
