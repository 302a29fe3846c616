import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import type { McpCommand, McpEvent, McpServerInput } from '../../machines/mcp-server-protocol.js';
import { sharedToolServerMachine } from '../../machines/shared-tool-server.machine.js';
import { TOOL_SERVERS_SYSTEM_ID, toolServersMachine } from '../../machines/tool-servers.machine.js';
import { toolboxMachine, type ToolboxReply } from '../../machines/toolbox.machine.js';
import { ToolListCache } from '../../src/mcp/tool-list-cache.js';
import type { McpToolInfo } from '../../src/mcp/tool-catalog.js';

const TOOLS: McpToolInfo[] = [{ name: 'echo', inputSchema: { type: 'object' } }];
const SPEC = { command: 'tool-server', args: [] as string[] };
const BOUNDS = { startTimeoutMs: 120_000, callTimeoutMs: 30_000 };

/**
 * A stand-in for the process actor: it reports ready at once, answers `echo` calls with their text, holds `wait`
 * calls until cancelled, and records what happened to it.
 */
function fakeProcesses() {
  const log: string[] = [];
  let started = 0;
  const live = new Set<number>();
  const controls = new Map<number, (event: McpEvent) => void>();
  const logic = fromCallback<McpCommand, McpServerInput, EventObject>(({ input, sendBack, receive }) => {
    const n = ++started;
    live.add(n);
    controls.set(n, sendBack);
    log.push(`start ${n} ${input.name}${input.knownTools ? ' (tools known)' : ''}`);
    queueMicrotask(() => sendBack({ type: 'mcp.ready', server: input.name, tools: input.knownTools ?? TOOLS }));
    receive((command) => {
      log.push(`${command.type} ${command.callId}`);
      if (command.type === 'mcp.call' && command.tool === 'echo') {
        sendBack({ type: 'mcp.result', server: input.name, callId: command.callId, content: String(command.args.text), isError: false });
      }
    });
    return () => {
      live.delete(n);
      log.push(`end ${n}`);
    };
  });
  return { logic, log, live, crash: (n: number) => controls.get(n)!({ type: 'mcp.exited', server: 'tools' }), started: () => started };
}

/** Records what it is sent (the answers to calls made in its name). */
function recorder() {
  const got: EventObject[] = [];
  const ref = createActor(fromCallback<EventObject>(({ receive }) => receive((e) => void got.push(e)))).start();
  return { ref, got };
}

function pool(idleStopMs: number) {
  const processes = fakeProcesses();
  const clock = new SimulatedClock();
  const actor = createActor(
    toolServersMachine.provide({
      actors: { sharedToolServer: sharedToolServerMachine.provide({ actors: { sharedMcpServer: processes.logic }, delays: { idleStop: idleStopMs } }) },
    }),
    { clock },
  ).start();
  const call = (callId: string, tool: string, args: Record<string, unknown>, replyTo: AnyActorRef) =>
    actor.send({ type: 'toolServers.call', server: 'tools', spec: SPEC, bounds: BOUNDS, callId, tool, args, replyTo });
  return { actor, clock, processes, call };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('shared tool servers (machines, SimulatedClock)', () => {
  test('calls from several callers go through one process, each answer to its caller', async () => {
    const p = pool(60_000);
    const callers = [recorder(), recorder(), recorder()];
    callers.forEach((c, i) => p.call(`c${i}`, 'echo', { text: `for ${i}` }, c.ref));
    await flush();
    expect(p.processes.started()).toBe(1);
    callers.forEach((c, i) => expect(c.got).toEqual([{ type: 'mcp.result', server: 'tools', callId: `c${i}`, content: `for ${i}`, isError: false }]));
    p.actor.stop();
    expect(p.processes.live.size).toBe(0);
  });

  test('idle for the bound: the process is ended; a call in flight keeps it; the next call starts it again', async () => {
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
    expect(caller.got.at(-1)).toMatchObject({ callId: 'c2', content: 'back' });
    p.actor.stop();
    expect(p.processes.live.size).toBe(0);
  });

  test('a process that exits: its calls in flight get an error result, the next call starts a new one', async () => {
    const p = pool(60_000);
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

/** A session stand-in: the pool (systemId toolServers) and one toolbox, as in the running server. */
function sessionWithPool(toolLists: ToolListCache, per_session = false) {
  const processes = fakeProcesses();
  const perSession = fakeProcesses();
  const parent = setup({
    actors: {
      toolServers: toolServersMachine.provide({
        actors: { sharedToolServer: sharedToolServerMachine.provide({ actors: { sharedMcpServer: processes.logic } }) },
      }),
      toolbox: toolboxMachine.provide({ actors: { mcpServer: perSession.logic } }),
    },
  }).createMachine({
    initial: 'active',
    invoke: { id: 'toolServers', src: 'toolServers', systemId: TOOL_SERVERS_SYSTEM_ID },
    states: {
      active: {
        invoke: {
          id: 'toolbox',
          src: 'toolbox',
          input: { clientUid: 'u1', servers: { tools: { ...SPEC, per_session } }, toolLists, ...BOUNDS },
        },
        on: { leave: 'gone' },
      },
      gone: {},
    },
  });
  const actor = createActor(parent).start();
  const toolbox = () => actor.getSnapshot().children.toolbox as AnyActorRef;
  return { actor, toolbox, processes, perSession };
}

describe('a session toolbox with shared servers', () => {
  test('a session that started before the tool list was discovered uses it once it is known: nothing is started', async () => {
    const lists = new ToolListCache();
    const s = sessionWithPool(lists);
    lists.put(SPEC, TOOLS); // another session discovered it after this one started
    const turn = recorder();
    s.toolbox().send({ type: 'tools.list', replyTo: turn.ref });
    await flush();
    expect(turn.got).toEqual([{ type: 'tools.listed', tools: [{ name: 'echo', description: '', inputSchema: { type: 'object' }, server: 'tools' }], problems: [] } satisfies ToolboxReply]);
    expect(s.processes.started() + s.perSession.started()).toBe(0);
    s.actor.stop();
  });

  test('an unknown list is discovered by the shared process, not by one of the session', async () => {
    const lists = new ToolListCache();
    const s = sessionWithPool(lists);
    const turn = recorder();
    s.toolbox().send({ type: 'tools.list', replyTo: turn.ref });
    await flush();
    expect(turn.got).toMatchObject([{ type: 'tools.listed', tools: [{ name: 'echo' }] }]);
    expect([s.processes.started(), s.perSession.started()]).toEqual([1, 0]);
    expect(lists.get(SPEC)).toEqual(TOOLS);
    s.actor.stop();
  });

  test('the session leaves during a shared call: the call is cancelled at the process, which stays warm', async () => {
    const s = sessionWithPool(new ToolListCache());
    const turn = recorder();
    s.toolbox().send({ type: 'tool.call', callId: 'c1', server: 'tools', tool: 'wait', args: {}, replyTo: turn.ref });
    await flush();
    expect(s.processes.log).toContain('mcp.call c1');
    s.actor.send({ type: 'leave' });
    await flush();
    expect(s.processes.log).toContain('mcp.cancel c1');
    expect(s.processes.live.size).toBe(1);
    expect(turn.got).toEqual([]);
    s.actor.stop();
    expect(s.processes.live.size).toBe(0);
  });

  test('per_session: true: the session owns the process and it ends with the session', async () => {
    const s = sessionWithPool(new ToolListCache(), true);
    const turn = recorder();
    s.toolbox().send({ type: 'tool.call', callId: 'c1', server: 'tools', tool: 'echo', args: { text: 'mine' }, replyTo: turn.ref });
    await flush();
    expect(turn.got).toMatchObject([{ type: 'tool.result', callId: 'c1', content: 'mine' }]);
    expect([s.processes.started(), s.perSession.started()]).toEqual([0, 1]);
    s.actor.send({ type: 'leave' });
    expect(s.perSession.live.size).toBe(0);
    s.actor.stop();
  });
});
