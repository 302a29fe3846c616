import { createActor, setup, type AnyActorRef } from 'xstate';
import { sharedToolServerMachine } from '../../machines/shared-tool-server.machine.js';
import { TOOL_SERVERS_SYSTEM_ID, toolServersMachine } from '../../machines/tool-servers.machine.js';
import { toolboxMachine, type ToolboxEvent, type ToolboxReply } from '../../machines/toolbox.machine.js';
import type { McpServerSpec } from '../../src/mcp/mcp-server-spec.js';
import { ToolListCache } from '../../src/mcp/tool-list-cache.js';
import type { McpToolInfo } from '../../src/mcp/tool-catalog.js';
import { ECHO_TOOLS, fakeMcpProcesses, recorder } from '../helpers/fake-mcp-process.js';

/**
 * machines/toolbox.machine.ts: a session's MCP tools. Alone (no pool in the actor system: every server is the
 * session's own), and under a session stand-in that runs the server's pool beside it, as in the running server.
 */

const SPEC: McpServerSpec = { command: 'tool-server', args: [] };
const OTHER: McpServerSpec = { command: 'other-server', args: [] };
const BOUNDS = { startTimeoutMs: 120_000, callTimeoutMs: 30_000 };
const ECHO_DEFINITION = { name: 'echo', description: '', inputSchema: { type: 'object' }, server: 'tools' };

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A toolbox on its own, with fake processes that hold their start until told (`ready: false`) or report at once. */
function toolbox(servers: Record<string, McpServerSpec>, options: { ready?: boolean; toolLists?: ToolListCache } = {}) {
  const processes = fakeMcpProcesses({ ready: options.ready });
  const toolLists = options.toolLists ?? new ToolListCache();
  const actor = createActor(toolboxMachine.provide({ actors: { mcpServer: processes.logic } }), {
    input: { clientUid: 'u1', servers, toolLists, ...BOUNDS },
  }).start();
  const send = (event: ToolboxEvent) => actor.send(event);
  return { actor, processes, toolLists, send };
}

describe('a toolbox on its own (every server the session\'s)', () => {
  test('nothing starts until a turn asks; the list starts every server whose tools are unknown and answers once all are known', async () => {
    const t = toolbox({ tools: SPEC, other: OTHER }, { ready: false });
    expect(t.processes.started()).toBe(0);
    const turn = recorder();
    t.send({ type: 'tools.list', replyTo: turn.ref });
    expect(t.processes.log).toEqual(['start 1 tools', 'start 2 other']);
    expect(t.processes.inputs[0]).toEqual({ name: 'tools', spec: SPEC, clientUid: 'u1', ...BOUNDS, knownTools: undefined });
    t.processes.control(1)({ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS });
    expect(turn.got).toEqual([]);
    const other: McpToolInfo[] = [{ name: 'look', description: 'Looks.', inputSchema: { type: 'object', properties: {} } }];
    t.processes.control(2)({ type: 'mcp.ready', server: 'other', tools: other });
    expect(turn.got).toEqual([
      { type: 'tools.listed', tools: [ECHO_DEFINITION, { name: 'look', description: 'Looks.', inputSchema: { type: 'object', properties: {} }, server: 'other' }], problems: [] } satisfies ToolboxReply,
    ]);
    // Remembered for every later session with the same configuration.
    expect(t.toolLists.get(SPEC)).toEqual(ECHO_TOOLS);
    expect(t.toolLists.get(OTHER)).toEqual(other);
  });

  test('a known list is answered at once, nothing started; a call then starts the server, telling it the tools it knows', async () => {
    const lists = new ToolListCache();
    lists.put(SPEC, ECHO_TOOLS);
    const t = toolbox({ tools: SPEC }, { toolLists: lists });
    const turn = recorder();
    t.send({ type: 'tools.list', replyTo: turn.ref });
    expect(turn.got).toEqual([{ type: 'tools.listed', tools: [ECHO_DEFINITION], problems: [] }]);
    expect(t.processes.started()).toBe(0);
    t.send({ type: 'tool.call', callId: 'c1', server: 'tools', tool: 'echo', args: { text: 'hi' }, replyTo: turn.ref });
    expect(t.processes.log).toEqual(['start 1 tools (tools known)', 'mcp.call c1']);
    expect(turn.got.at(-1)).toEqual({ type: 'tool.result', callId: 'c1', content: 'hi', isError: false } satisfies ToolboxReply);
  });

  test('a server that cannot start: the list names the problem once, with the tools of the others; the next list tries again', async () => {
    const t = toolbox({ tools: SPEC, other: OTHER }, { ready: false });
    const turn = recorder();
    t.send({ type: 'tools.list', replyTo: turn.ref });
    t.processes.control(1)({ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS });
    t.processes.control(2)({ type: 'mcp.failed', server: 'other', message: 'tool server "other" did not start: ENOENT' });
    expect(turn.got).toEqual([{ type: 'tools.listed', tools: [ECHO_DEFINITION], problems: ['tool server "other" did not start: ENOENT'] }]);
    expect(t.processes.live.size).toBe(1); // the failed one's actor is stopped
    t.send({ type: 'tools.list', replyTo: turn.ref });
    expect(t.processes.log.filter((l) => l.startsWith('start'))).toEqual(['start 1 tools', 'start 2 other', 'start 3 other']);
    t.processes.control(3)({ type: 'mcp.failed', server: 'other', message: 'still broken' });
    expect(turn.got.at(-1)).toEqual({ type: 'tools.listed', tools: [ECHO_DEFINITION], problems: ['still broken'] });
  });

  test('a call to a server that is not configured is answered with an error at once', () => {
    const t = toolbox({ tools: SPEC });
    const turn = recorder();
    t.send({ type: 'tool.call', callId: 'c1', server: 'nope', tool: 'echo', args: {}, replyTo: turn.ref });
    expect(turn.got).toEqual([{ type: 'tool.result', callId: 'c1', content: 'Error: there is no tool server "nope"', isError: true }]);
    expect(t.processes.started()).toBe(0);
  });

  test('a cancelled call is cancelled at its server; its late answer goes to nobody', () => {
    const t = toolbox({ tools: SPEC });
    const turn = recorder();
    t.send({ type: 'tool.call', callId: 'c1', server: 'tools', tool: 'wait', args: {}, replyTo: turn.ref });
    t.send({ type: 'tool.cancel', callId: 'c1' });
    t.send({ type: 'tool.cancel', callId: 'unknown' });
    expect(t.processes.log).toEqual(['start 1 tools', 'mcp.call c1', 'mcp.cancel c1']);
    t.processes.control(1)({ type: 'mcp.result', server: 'tools', callId: 'c1', content: 'late', isError: false });
    expect(turn.got).toEqual([]);
  });

  test('a server that exits: its calls get an error result; the next call starts it again', async () => {
    const t = toolbox({ tools: SPEC });
    const turn = recorder();
    t.send({ type: 'tool.call', callId: 'c1', server: 'tools', tool: 'wait', args: {}, replyTo: turn.ref });
    await flush();
    t.processes.crash(1);
    expect(turn.got).toEqual([{ type: 'tool.result', callId: 'c1', content: 'Error: tool server "tools" exited', isError: true }]);
    expect(t.processes.live.size).toBe(0);
    t.send({ type: 'tool.call', callId: 'c2', server: 'tools', tool: 'echo', args: { text: 'again' }, replyTo: turn.ref });
    expect(t.processes.started()).toBe(2);
    expect(turn.got.at(-1)).toMatchObject({ callId: 'c2', content: 'again' });
  });

  test('a turn that stopped while waiting for the list is not answered', () => {
    const t = toolbox({ tools: SPEC }, { ready: false });
    const turn = recorder();
    t.send({ type: 'tools.list', replyTo: turn.ref });
    turn.ref.stop();
    t.processes.control(1)({ type: 'mcp.ready', server: 'tools', tools: ECHO_TOOLS });
    expect(turn.got).toEqual([]);
  });

  test('stopped (switch-config, disconnect): every server of the session is ended', () => {
    const t = toolbox({ tools: SPEC, other: OTHER });
    t.send({ type: 'tools.list', replyTo: recorder().ref });
    t.actor.stop();
    expect(t.processes.live.size).toBe(0);
  });
});

/** A session stand-in: the pool (systemId toolServers) and one toolbox, as in the running server. */
function sessionWithPool(toolLists: ToolListCache, per_session = false) {
  const processes = fakeMcpProcesses();
  const perSession = fakeMcpProcesses();
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
    lists.put(SPEC, ECHO_TOOLS); // another session discovered it after this one started
    const turn = recorder();
    s.toolbox().send({ type: 'tools.list', replyTo: turn.ref });
    await flush();
    expect(turn.got).toEqual([{ type: 'tools.listed', tools: [ECHO_DEFINITION], problems: [] } satisfies ToolboxReply]);
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
    expect(lists.get(SPEC)).toEqual(ECHO_TOOLS);
    s.actor.stop();
  });

  test('a shared call is answered through the pool to the turn that made it', async () => {
    const s = sessionWithPool(new ToolListCache());
    const turn = recorder();
    s.toolbox().send({ type: 'tool.call', callId: 'c1', server: 'tools', tool: 'echo', args: { text: 'shared' }, replyTo: turn.ref });
    await flush();
    expect(turn.got).toEqual([{ type: 'tool.result', callId: 'c1', content: 'shared', isError: false }]);
    expect([s.processes.started(), s.perSession.started()]).toEqual([1, 0]);
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
