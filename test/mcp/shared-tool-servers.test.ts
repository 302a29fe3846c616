import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeAiServer, tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { runServerProcess } from '../helpers/server-process.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';
import { shellWrappedServer } from '../helpers/mcp-fixture.js';
import { alive, processesWith, settleTo } from '../helpers/process-probes.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

const AGENT = 'character_config.agent_config.agent_settings.basic_memory_agent';

/**
 * One shared tool server (the default) through a shell wrapper, logging to a file in the fixture: `start <pid>`,
 * `call wait <id>`, `cancelled wait <id>`.
 */
function useSharedToolServer(conf: Record<string, unknown> = {}, options: { perSession?: boolean } = {}) {
  let logFile = '';
  let server!: ReturnType<typeof shellWrappedServer>;
  const harness = useFakeEngineServer({
    conf: { [`${AGENT}.use_mcpp`]: true, [`${AGENT}.mcp_enabled_servers`]: ['tools'], ...conf },
    prepare: (fixture) => {
      logFile = path.join(fixture.root, 'tool-server.log');
      server = shellWrappedServer([`--log=${logFile}`]);
      const spec = options.perSession ? { ...server.spec, per_session: true } : server.spec;
      fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { tools: spec } }));
    },
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
  const starts = () => log().filter((l) => l.startsWith('start '));
  return { harness, log, starts, tag: () => server.tag };
}

/** The model: "echo X" → the echo tool with X; "wait" → the wait tool for 20 s; after a tool result, a short answer. */
function toolModel(body: any) {
  const messages = body.messages as Array<{ role: string; content: unknown }>;
  if (messages.some((m) => m.role === 'tool')) return { tokens: tokens('Done.') };
  const said = String(messages.filter((m) => m.role === 'user').at(-1)!.content);
  if (said.startsWith('echo ')) return { tokens: [], toolCalls: [{ id: 'call_1', name: 'echo', arguments: JSON.stringify({ text: said.slice(5) }) }] };
  return { tokens: [], toolCalls: [{ id: 'call_1', name: 'wait', arguments: '{"ms": 20000}' }] };
}

/** The first `sessions` and `tool-servers` events of the live sessions page's stream. */
async function sessionsEvents(url: string): Promise<{ sessions: any[]; toolServers: any[] }> {
  const controller = new AbortController();
  const res = await fetch(`${url}/sessions/events`, { signal: controller.signal });
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended: ${text}`);
      text += decoder.decode(value, { stream: true });
      const sessions = text.match(/event: sessions\ndata: (.*)\n/);
      const tools = text.match(/event: tool-servers\ndata: (.*)\n/);
      if (sessions && tools) return { sessions: JSON.parse(sessions[1]!), toolServers: JSON.parse(tools[1]!) };
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    controller.abort();
  }
}

async function connected(url: string) {
  const client = await TestClient.connect(url);
  await client.ready();
  client.frames.length = 0;
  return client;
}

const statuses = (client: TestClient) => client.ofType('tool_call_status').map((f: any) => `${f.status}:${f.content}`);
const toolStatus = (client: TestClient, status: string) => client.waitUntil((fs) => fs.some((f: any) => f.type === 'tool_call_status' && f.status === status), 15000, status);

describe('shared tool servers over sockets (one warm process for every session)', () => {
  const s = useSharedToolServer();

  test('20 sessions call at once through one process, each gets its own result; the process outlives them', async () => {
    s.harness.fake.llm = toolModel;
    const clients = await Promise.all(Array.from({ length: 20 }, () => connected(s.harness.server.wsUrl)));
    clients.forEach((c, i) => c.send({ type: 'text-input', text: `echo session ${i}`, images: [] }));
    await Promise.all(clients.map((c) => toolStatus(c, 'completed')));
    clients.forEach((c, i) => expect(statuses(c)).toEqual([`running:Input: {"text":"session ${i}"}`, `completed:session ${i}`]));
    expect(s.starts()).toHaveLength(1);
    expect(processesWith(s.tag())).toHaveLength(2); // sh and the server: one group
    const metrics = await (await fetch(`${s.harness.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^vas_mcp_processes\{scope="shared"\} 1$/m);
    expect(metrics).toMatch(/^vas_mcp_processes\{scope="per_session"\} 0$/m);
    await Promise.all(clients.map((c) => c.close()));
    await settleTo(() => s.harness.server.sessionCount(), 0);
    expect(processesWith(s.tag())).toHaveLength(2);
    // Nothing of the sessions is left: their links to the shared server went with them.
    expect(await settleTo(() => s.harness.server.census.countExcept(SERVER_ACTOR_KINDS), 0)).toBe(0);
    expect(s.harness.server.census.byKind()).toMatchObject({ sharedToolServer: 1, sharedMcpServer: 1 });
  }, 60_000);

  test('an interrupt during a shared call cancels it at the server; another session\'s call is unaffected', async () => {
    s.harness.fake.llm = toolModel;
    const slow = await connected(s.harness.server.wsUrl);
    const other = await connected(s.harness.server.wsUrl);
    slow.send({ type: 'text-input', text: 'wait for it', images: [] });
    await toolStatus(slow, 'running');
    await settleTo(() => s.log().some((l) => l.startsWith('call wait')), true, 5000);
    // The sessions page shows the shared server apart from the sessions, and each session's use of it.
    const board = await sessionsEvents(s.harness.server.url);
    expect(board.toolServers).toEqual([{ name: 'tools', state: 'busy', calls: 1 }]);
    expect(board.sessions.map((v: any) => v.toolServers)).toEqual(expect.arrayContaining([[{ name: 'tools', scope: 'shared' }]]));
    slow.send({ type: 'interrupt-signal', text: '' });
    expect(await settleTo(() => s.log().filter((l) => l.startsWith('cancelled wait')).length, 1, 5000)).toBe(1);
    other.send({ type: 'text-input', text: 'echo still here', images: [] });
    await toolStatus(other, 'completed');
    expect(statuses(other)).toEqual(['running:Input: {"text":"still here"}', 'completed:still here']);
    expect(statuses(slow)).toEqual(['running:Input: {"ms":20000}']); // nothing of the cancelled call arrives late
    expect(s.starts()).toHaveLength(1);
    await Promise.all([slow.close(), other.close()]);
  }, 30_000);

  test('a shared server killed mid-call: that call gets an error status, the next call starts it again', async () => {
    s.harness.fake.llm = toolModel;
    const client = await connected(s.harness.server.wsUrl);
    const calls = () => s.log().filter((l) => l.startsWith('call wait')).length;
    const before = calls();
    client.send({ type: 'text-input', text: 'wait for it', images: [] });
    await toolStatus(client, 'running');
    expect(await settleTo(calls, before + 1, 5000)).toBe(before + 1);
    const pid = Number(s.starts().at(-1)!.split(' ')[1]);
    process.kill(pid, 'SIGKILL');
    await toolStatus(client, 'error');
    expect(statuses(client).at(-1)).toMatch(/^error:Error: tool server "tools" (exited|failed)/);
    await client.next('backend-synth-complete', 1, 15000);
    client.send({ type: 'frontend-playback-complete' });
    await client.waitUntil((fs) => fs.some((f) => f.text === 'conversation-chain-end'), 5000, 'chain end');

    client.frames.length = 0;
    client.send({ type: 'text-input', text: 'echo back again', images: [] });
    await toolStatus(client, 'completed');
    expect(statuses(client)).toEqual(['running:Input: {"text":"back again"}', 'completed:back again']);
    expect(s.starts()).toHaveLength(2);
    expect(alive(pid)).toBe(false);
    expect(processesWith(s.tag())).toHaveLength(2);
    await client.close();
  }, 30_000);
});

describe('a shared tool server with no call for mcp_idle_stop_seconds is stopped', () => {
  const s = useSharedToolServer({ 'system_config.mcp_idle_stop_seconds': 1 });

  test('the process group vanishes after the idle bound, and the next call starts it again', async () => {
    s.harness.fake.llm = toolModel;
    const client = await connected(s.harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'echo one', images: [] });
    await toolStatus(client, 'completed');
    const group = processesWith(s.tag());
    expect(group).toHaveLength(2);
    // The session is still connected: the bound is about calls, not sessions.
    expect(await settleTo(() => group.filter(alive), [], 10_000)).toEqual([]);
    expect(processesWith(s.tag())).toEqual([]);
    const metrics = await (await fetch(`${s.harness.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^vas_mcp_processes\{scope="shared"\} 0$/m);

    await client.next('backend-synth-complete', 1, 15000);
    client.send({ type: 'frontend-playback-complete' });
    await client.waitUntil((fs) => fs.some((f) => f.text === 'conversation-chain-end'), 5000, 'chain end');
    client.frames.length = 0;
    client.send({ type: 'text-input', text: 'echo two', images: [] });
    await toolStatus(client, 'completed');
    expect(statuses(client)).toEqual(['running:Input: {"text":"two"}', 'completed:two']);
    expect(s.starts()).toHaveLength(2);
    await client.close();
  }, 30_000);
});

describe('per_session: true, sessions that connected before the tool list was known (U3)', () => {
  const s = useSharedToolServer({}, { perSession: true });

  test('once one session discovered the list, the others start nothing until they call a tool; each then has its own', async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => connected(s.harness.server.wsUrl)));
    s.harness.fake.llm = () => ({ tokens: tokens('Just talking.') });
    clients[0]!.send({ type: 'text-input', text: 'hello', images: [] });
    await clients[0]!.next('backend-synth-complete', 1, 15000);
    expect(s.starts()).toHaveLength(1); // session 0 started its own server to discover the list
    for (const client of clients.slice(1)) client.send({ type: 'text-input', text: 'hello', images: [] });
    await Promise.all(clients.slice(1).map((c) => c.next('backend-synth-complete', 1, 15000)));
    expect(s.harness.fake.chatRequests().at(-1)!.body.tools).toHaveLength(3);
    expect(s.starts()).toHaveLength(1);

    s.harness.fake.llm = toolModel;
    clients[1]!.send({ type: 'frontend-playback-complete' });
    clients[2]!.send({ type: 'frontend-playback-complete' });
    await Promise.all([1, 2].map((i) => clients[i]!.waitUntil((fs) => fs.some((f) => f.text === 'conversation-chain-end'), 5000, 'chain end')));
    clients[1]!.send({ type: 'text-input', text: 'echo one', images: [] });
    clients[2]!.send({ type: 'text-input', text: 'echo two', images: [] });
    await Promise.all([1, 2].map((i) => toolStatus(clients[i]!, 'completed')));
    expect(s.starts()).toHaveLength(3); // per session: one process each for the two sessions that called
    const metrics = await (await fetch(`${s.harness.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^vas_mcp_processes\{scope="per_session"\} 3$/m);
    expect(metrics).toMatch(/^vas_mcp_processes\{scope="shared"\} 0$/m);
    await Promise.all(clients.map((c) => c.close()));
    expect(await settleTo(() => processesWith(s.tag()), [], 5000)).toEqual([]);
  }, 60_000);
});

describe('SIGTERM to the real server with shared tool servers running', () => {
  /** The real entry point with one shared server that ignores SIGTERM; `sessions` clients each in a 20 s tool call. */
  async function sigterm(busy: boolean) {
    const fixture = makeFixtureRoot();
    const fake = await startFakeAiServer();
    const logFile = path.join(fixture.root, 'tool-server.log');
    const stubborn = shellWrappedServer([`--log=${logFile}`, '--ignore-term']);
    fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { stubborn: stubborn.spec } }));
    useFakeEngines(fixture.root, fake.baseUrl, { [`${AGENT}.use_mcpp`]: true, [`${AGENT}.mcp_enabled_servers`]: ['stubborn'] });
    fake.llm = (body: any) =>
      body.messages.some((m: any) => m.role === 'tool')
        ? { tokens: tokens('Done.') }
        : { tokens: [], toolCalls: [{ id: 'call_1', name: 'wait', arguments: JSON.stringify({ ms: busy ? 20000 : 1 }) }] };
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1']);
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const clients = await Promise.all([1, 2, 3].map(() => connected(`${url!.replace('http', 'ws')}/client-ws`)));
      clients.forEach((c) => c.send({ type: 'text-input', text: 'take your time', images: [] }));
      await Promise.all(clients.map((c) => toolStatus(c, busy ? 'running' : 'completed')));
      const waits = () => readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('call wait')).length;
      expect(await settleTo(waits, 3, 5000)).toBe(3);
      expect(processesWith(stubborn.tag)).toHaveLength(2); // one shared group (sh and the server), not one per session
      if (!busy) await Promise.all(clients.map((c) => c.close())); // idle and warm, no session left
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      // The tool server itself had its grace period: its shell wrapper dies at SIGTERM at once, but the group's SIGKILL
      // waits for the server (which ignores SIGTERM and says so) for the grace period, not for the wrapper.
      expect(readFileSync(logFile, 'utf8')).toMatch(/ignored SIGTERM/);
      expect(await settleTo(() => processesWith(stubborn.tag), [], 2000)).toEqual([]);
    } finally {
      server.child.kill('SIGKILL');
      await fake.close();
      fixture.cleanup();
    }
  }

  // Two servers of their own, side by side: each test spends most of its time waiting for a process to end.
  test.concurrent('busy with three sessions\' calls: every tool process is gone once the server has exited, even one that ignores SIGTERM', () => sigterm(true), 30_000);

  test.concurrent('warm with no session left: the server still waits for the group to end before it exits', () => sigterm(false), 30_000);
});
