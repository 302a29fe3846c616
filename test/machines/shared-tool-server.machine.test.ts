import { createActor, SimulatedClock } from 'xstate';
import { sharedToolServerMachine, type SharedToolServerCommand, type SharedToolServerInput } from '../../machines/shared-tool-server.machine.js';
import { ECHO_TOOLS, fakeMcpProcesses, recorder } from '../helpers/fake-mcp-process.js';

/**
 * machines/shared-tool-server.machine.ts alone: one warm tool server, a fake process under it, callers that record
 * their answers, a simulated clock for the idle bound. (Through its pool: tool-servers.machine.test.ts.)
 */

const INPUT: SharedToolServerInput = { name: 'tools', spec: { command: 'tool-server', args: [] }, startTimeoutMs: 120_000, callTimeoutMs: 30_000 };

function server(options: { idleStopMs?: number; knownTools?: boolean; ready?: boolean } = {}) {
  const processes = fakeMcpProcesses({ ready: options.ready });
  const clock = new SimulatedClock();
  const machine = sharedToolServerMachine.provide({ actors: { sharedMcpServer: processes.logic }, delays: { idleStop: options.idleStopMs ?? 10_000 } });
  const actor = createActor(machine, { input: { ...INPUT, ...(options.knownTools ? { knownTools: ECHO_TOOLS } : {}) }, clock }).start();
  const send = (command: SharedToolServerCommand) => actor.send(command);
  return { actor, clock, processes, send };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const result = (callId: string, content: string, isError = false) => ({ type: 'mcp.result' as const, server: 'tools', callId, content, isError });

describe('a shared tool server (one warm process, many callers)', () => {
  test('it starts its process at once, as the pool\'s, with the bounds it was given', () => {
    const s = server();
    expect(s.processes.inputs).toEqual([{ name: 'tools', spec: INPUT.spec, clientUid: 'tool-servers', startTimeoutMs: 120_000, callTimeoutMs: 30_000, knownTools: undefined }]);
  });

  test('concurrent calls go through the one process; each answer reaches its own caller', async () => {
    const s = server();
    const callers = [recorder(), recorder(), recorder()];
    callers.forEach((c, i) => s.send({ type: 'shared.call', callId: `c${i}`, tool: 'echo', args: { text: `for ${i}` }, replyTo: c.ref }));
    await flush();
    expect(s.processes.started()).toBe(1);
    callers.forEach((c, i) => expect(c.got).toEqual([result(`c${i}`, `for ${i}`)]));
  });

  test('the tool list: who asks before the process is ready waits for it; who asks after is answered at once', async () => {
    const s = server({ ready: false });
    const early = recorder();
    s.send({ type: 'shared.list', replyTo: early.ref });
    expect(early.got).toEqual([]);
    s.processes.control(1)({ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS });
    expect(early.got).toEqual([{ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS }]);
    const late = recorder();
    s.send({ type: 'shared.list', replyTo: late.ref });
    expect(late.got).toEqual([{ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS }]);
  });

  test('a tool list already known is answered without waiting, and the process is told it knows it', () => {
    const s = server({ knownTools: true, ready: false });
    const asker = recorder();
    s.send({ type: 'shared.list', replyTo: asker.ref });
    expect(asker.got).toEqual([{ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS }]);
    expect(s.processes.log).toEqual(['start 1 tools (tools known)']);
  });

  test('a cancelled call is cancelled at the process, and its late answer goes to nobody; an unknown cancel sends nothing', async () => {
    const s = server();
    const caller = recorder();
    s.send({ type: 'shared.call', callId: 'slow', tool: 'wait', args: {}, replyTo: caller.ref });
    s.send({ type: 'shared.cancel', callId: 'slow' });
    s.send({ type: 'shared.cancel', callId: 'never-made' });
    expect(s.processes.log).toEqual(['start 1 tools', 'mcp.call slow', 'mcp.cancel slow']);
    s.processes.control(1)(result('slow', 'too late'));
    await flush();
    expect(caller.got).toEqual([]);
  });

  test('idle for the bound, the process is ended and the actor finishes; a call in flight or a waiting lister keeps it', async () => {
    const s = server({ idleStopMs: 10_000, ready: false });
    const lister = recorder();
    s.send({ type: 'shared.list', replyTo: lister.ref });
    s.clock.increment(60_000); // waiting for the list: busy
    expect(s.processes.live.size).toBe(1);
    s.processes.control(1)({ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS });
    s.send({ type: 'shared.call', callId: 'slow', tool: 'wait', args: {}, replyTo: recorder().ref });
    s.clock.increment(60_000); // a call in flight: busy
    expect(s.actor.getSnapshot().value).toEqual({ running: 'busy' });
    s.send({ type: 'shared.cancel', callId: 'slow' });
    expect(s.actor.getSnapshot().value).toEqual({ running: 'idle' });
    s.clock.increment(9_999);
    expect(s.processes.live.size).toBe(1);
    s.clock.increment(1);
    expect(s.processes.live.size).toBe(0);
    expect(s.actor.getSnapshot().status).toBe('done');
  });

  test('a call restarts the idle bound', async () => {
    const s = server({ idleStopMs: 10_000 });
    await flush();
    s.clock.increment(9_999);
    s.send({ type: 'shared.call', callId: 'c1', tool: 'echo', args: { text: 'x' }, replyTo: recorder().ref });
    s.clock.increment(9_999);
    expect(s.processes.live.size).toBe(1);
    s.clock.increment(1);
    expect(s.processes.live.size).toBe(0);
  });

  test('a process that exits: calls in flight get an error result, listers a failure; the actor finishes', async () => {
    const s = server({ ready: false });
    const a = recorder();
    const b = recorder();
    const lister = recorder();
    s.send({ type: 'shared.call', callId: 'a1', tool: 'wait', args: {}, replyTo: a.ref });
    s.send({ type: 'shared.call', callId: 'b1', tool: 'wait', args: {}, replyTo: b.ref });
    s.send({ type: 'shared.list', replyTo: lister.ref });
    s.processes.crash(1);
    expect(a.got).toEqual([result('a1', 'Error: tool server "tools" exited', true)]);
    expect(b.got).toEqual([result('b1', 'Error: tool server "tools" exited', true)]);
    expect(lister.got).toEqual([{ type: 'mcp.failed', server: 'tools', message: 'tool server "tools" exited' }]);
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.processes.live.size).toBe(0);
  });

  test('a process that cannot start: everyone waiting hears why', () => {
    const s = server({ ready: false });
    const caller = recorder();
    const lister = recorder();
    s.send({ type: 'shared.call', callId: 'c1', tool: 'wait', args: {}, replyTo: caller.ref });
    s.send({ type: 'shared.list', replyTo: lister.ref });
    s.processes.control(1)({ type: 'mcp.failed', server: 'tools', message: 'tool server "tools" did not start within 120 s' });
    expect(caller.got).toEqual([result('c1', 'Error: tool server "tools" did not start within 120 s', true)]);
    expect(lister.got).toEqual([{ type: 'mcp.failed', server: 'tools', message: 'tool server "tools" did not start within 120 s' }]);
    expect(s.actor.getSnapshot().status).toBe('done');
  });

  test('a caller that is gone (its session left) is not sent its answer', async () => {
    const s = server();
    const gone = recorder();
    s.send({ type: 'shared.call', callId: 'c1', tool: 'wait', args: {}, replyTo: gone.ref });
    gone.ref.stop();
    s.processes.control(1)(result('c1', 'late'));
    s.processes.crash(1);
    expect(gone.got).toEqual([]);
  });

  test('stopped (server shutdown): the process is ended', () => {
    const s = server();
    s.actor.stop();
    expect(s.processes.log).toEqual(['start 1 tools', 'end 1']);
  });
});
