import { tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { shellWrappedServer } from '../helpers/mcp-fixture.js';
import { processesWith, settleTo } from '../helpers/process-probes.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

const AGENT = 'character_config.agent_config.agent_settings.basic_memory_agent';
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A character with MCP on, and mcp_servers.json naming the given test servers. */
function mcpConf(servers: Record<string, { command: string; args: string[]; per_session?: boolean }>, extra: Record<string, unknown> = {}) {
  return {
    conf: { [`${AGENT}.use_mcpp`]: true, [`${AGENT}.mcp_enabled_servers`]: Object.keys(servers), ...extra },
    prepare: (fixture: { write(rel: string, content: string): string }) => fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: servers })),
  };
}

/** OpenAI chat messages of a recorded request. */
const messagesOf = (fake: FakeAiServer, n: number): Array<Record<string, any>> => fake.chatRequests()[n]!.body.messages;

/** A model that calls `call` once, then answers with `answer` (it sees the tool's result in its request). */
function callsOnceThenAnswers(call: { name: string; arguments: string }, answer: (body: any) => string, before = 'Let me check. ') {
  return (body: any) => {
    const toolTurn = (body.messages as Array<{ role: string }>).some((m) => m.role === 'tool') || JSON.stringify(body.messages).includes('tool_result');
    return toolTurn ? { tokens: tokens(answer(body)) } : { tokens: tokens(before), toolCalls: [{ id: 'call_1', ...call }] };
  };
}

const of = (client: TestClient, type: string) => client.ofType(type) as Array<Record<string, any>>;

async function connected(url: string) {
  const client = await TestClient.connect(url);
  await client.ready();
  client.frames.length = 0;
  return client;
}

/** The turn's frames by type, with tool status shown as `tool:<status>:<content>` and audio as its text. */
function outline(frames: Array<Record<string, any>>): string[] {
  return frames.map((f) => {
    if (f.type === 'tool_call_status') return `tool:${f.status}:${f.content}`;
    if (f.type === 'audio') return `audio:${f.display_text?.text}`;
    if (f.type === 'control' || f.type === 'full-text') return `${f.type}:${f.text}`;
    return f.type;
  });
}

describe('MCP tools in a turn (OpenAI-compatible native tools), per_session: true (a process per session)', () => {
  const tools = shellWrappedServer();
  const harness = useFakeEngineServer(mcpConf({ tools: { ...tools.spec, per_session: true } }));

  test('the model calls a tool: tool_call_status frames in order with the audio, and the result reaches its next request', async () => {
    harness.fake.llm = callsOnceThenAnswers({ name: 'add', arguments: '{"a": 2, "b": 40}' }, () => 'The answer is 42.');
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'What is 2 + 40?', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    client.send({ type: 'frontend-playback-complete' });
    await client.waitUntil((fs) => fs.some((f) => f.text === 'conversation-chain-end'), 3000, 'chain-end');

    expect(outline(client.frames)).toEqual([
      'control:conversation-chain-start',
      'full-text:Thinking...',
      'audio:Let me check. ',
      'tool:running:Input: {"a":2,"b":40}',
      'tool:completed:42',
      'audio:The answer is 42.',
      'backend-synth-complete',
      'force-new-message',
      'control:conversation-chain-end',
    ]);
    const statuses = of(client, 'tool_call_status');
    for (const status of statuses) {
      expect(status).toEqual({
        type: 'tool_call_status',
        tool_id: 'call_1',
        tool_name: 'add',
        status: expect.any(String),
        content: expect.any(String),
        timestamp: expect.stringMatching(ISO_UTC),
        name: 'Mao',
      });
      expect(Number.isNaN(Date.parse(status.timestamp))).toBe(false);
    }

    const [first, second] = harness.fake.chatRequests().slice(-2);
    expect(first!.body.tools.map((t: any) => t.function.name).sort()).toEqual(['add', 'echo', 'wait']);
    expect(first!.body.tools.find((t: any) => t.function.name === 'add').function.parameters).toMatchObject({
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    });
    expect(second!.body.messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: 'Let me check. ',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'add', arguments: '{"a": 2, "b": 40}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '42' },
    ]);
    await client.close();
  }, 30_000);

  test('an unknown tool and arguments that are not JSON: error status, an error result for the model, the turn goes on', async () => {
    harness.fake.llm = (body: any) => {
      if (body.messages.some((m: any) => m.role === 'tool')) return { tokens: tokens('Sorry, that did not work.') };
      return {
        tokens: [],
        toolCalls: [
          { id: 'call_a', name: 'teleport', arguments: '{}' },
          { id: 'call_b', name: 'add', arguments: '{"a": 1,' },
        ],
      };
    };
    const before = harness.fake.chatRequests().length;
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Beam me up', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(outline(client.frames).filter((f) => f.startsWith('tool:'))).toEqual([
      "tool:error:Error: Tool 'teleport' is not available.",
      expect.stringMatching(/^tool:error:Error: the arguments for 'add' are not valid JSON/),
    ]);
    const results = messagesOf(harness.fake, before + 1).filter((m) => m.role === 'tool');
    expect(results.map((m) => m.tool_call_id)).toEqual(['call_a', 'call_b']);
    expect(results[0]!.content).toBe("Error: Tool 'teleport' is not available.");
    expect(of(client, 'error')).toEqual([]);
    await client.close();
  }, 30_000);

  test('a later session lists the tools from the cache without starting a server (U3); processes only for calls', async () => {
    // The first test discovered the tools; a turn that calls nothing must not start the server.
    expect(await settleTo(() => processesWith(tools.tag), [], 5000)).toEqual([]); // the earlier sessions' servers are gone
    harness.fake.llm = () => ({ tokens: tokens('Just chatting.') });
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Hello', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(harness.fake.chatRequests().at(-1)!.body.tools).toHaveLength(3);
    // Servers are started (spawned, synchronously) before the model is asked: none was.
    expect(processesWith(tools.tag)).toEqual([]);
    await client.close();
  }, 30_000);

  test('disconnecting ends the tool server and its whole process group, shell wrapper included (U2)', async () => {
    harness.fake.llm = callsOnceThenAnswers({ name: 'echo', arguments: '{"text":"hi"}' }, () => 'Done.');
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Echo hi', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(processesWith(tools.tag).length).toBeGreaterThanOrEqual(2); // sh and the server
    await client.close();
    expect(await settleTo(() => processesWith(tools.tag), [], 5000)).toEqual([]);
  }, 30_000);

  test('switch-config ends the tool servers of the character it leaves (U2)', async () => {
    harness.fake.llm = callsOnceThenAnswers({ name: 'echo', arguments: '{"text":"hi"}' }, () => 'Done.');
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Echo hi', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(processesWith(tools.tag).length).toBeGreaterThanOrEqual(2);
    client.send({ type: 'switch-config', file: 'en_storyteller.yaml' });
    await client.next('config-switched', 1, 5000);
    expect(await settleTo(() => processesWith(tools.tag), [], 5000)).toEqual([]);
    await client.close();
  }, 30_000);

  test('an interrupt during a tool call stops the turn; the session answers the next input', async () => {
    harness.fake.llm = callsOnceThenAnswers({ name: 'wait', arguments: '{"ms": 20000}' }, () => 'Finally.', '');
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Take your time', images: [] });
    await client.waitUntil((fs) => fs.some((f) => f.type === 'tool_call_status'), 15000, 'running status');
    client.send({ type: 'interrupt-signal', text: '' });
    const settled = client.frames.length;
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    // The interrupt stops the turn silently (as upstream): nothing of it after the interrupt, only the answer to the heartbeat.
    expect(client.frames.slice(settled)).toEqual([{ type: 'heartbeat-ack' }]);
    harness.fake.llm = () => ({ tokens: tokens('I am here.') });
    client.send({ type: 'text-input', text: 'Still there?', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(of(client, 'audio').at(-1)!.display_text.text).toBe('I am here.');
    expect(of(client, 'error')).toEqual([]);
    // The cancelled call never reported back.
    expect(of(client, 'tool_call_status').map((s) => s.status)).toEqual(['running']);
    await client.close();
  }, 30_000);
});

describe('MCP tools with Claude (tool_use / tool_result)', () => {
  const tools = shellWrappedServer();
  const harness = useFakeEngineServer(mcpConf({ tools: tools.spec }, { [`${AGENT}.llm_provider`]: 'claude_llm' }));

  test('tool_use blocks are run and answered with tool_result blocks', async () => {
    harness.fake.llm = callsOnceThenAnswers({ name: 'echo', arguments: '{"text":"ping"}' }, () => 'It said ping.');
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Echo ping', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(outline(client.frames).filter((f) => f.startsWith('tool:') || f.startsWith('audio:'))).toEqual([
      'audio:Let me check. ',
      'tool:running:Input: {"text":"ping"}',
      'tool:completed:ping',
      'audio:It said ping.',
    ]);
    const [first, second] = harness.fake.chatRequests();
    expect(first!.body.tools.map((t: any) => t.name).sort()).toEqual(['add', 'echo', 'wait']);
    expect(first!.body.tools[0].input_schema.type).toBe('object');
    expect(second!.body.messages.slice(-2)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check. ' }, { type: 'tool_use', id: 'call_1', name: 'echo', input: { text: 'ping' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'ping', is_error: false }] },
    ]);
    await client.close();
  }, 30_000);
});

describe('prompt mode: a model that refuses native tools (U20)', () => {
  const tools = shellWrappedServer();
  const harness = useFakeEngineServer(mcpConf({ tools: tools.spec }));

  test('the tools move into the prompt, the JSON call is caught before it is spoken, and later turns stay in prompt mode', async () => {
    harness.fake.llm = (body: any) => {
      if (body.tools) return { tokens: [], status: 400, errorBody: { error: { message: 'registry.ollama.ai/library/gemma3:1b does not support tools' } } };
      const last = body.messages.at(-1);
      if (last.role === 'user' && String(last.content).startsWith('Result of')) return { tokens: tokens('The tool said hi.') };
      // The object arrives in pieces, with `arguments` as an object (the template's format) and a brace in a string.
      return { tokens: ['Sure. ', '{"mcp_server": "tools", "tool": "echo", ', '"arguments": {"text": "hi }"}}', ' trailing'] };
    };
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'text-input', text: 'Say hi through the tool', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(outline(client.frames).filter((f) => f.startsWith('tool:') || f.startsWith('audio:'))).toEqual([
      'audio:Sure. ',
      'tool:running:Input: {"text":"hi }"}',
      'tool:completed:hi }',
      'audio:The tool said hi.',
    ]);
    const requests = harness.fake.chatRequests();
    expect(requests).toHaveLength(3);
    expect(requests[1]!.body.tools).toBeUndefined();
    expect(requests[1]!.body.messages[0].content).toContain('Server: tools');
    expect(requests[1]!.body.messages[0].content).toContain('"mcp_server"');
    expect(requests[2]!.body.messages.slice(-2)).toEqual([
      { role: 'assistant', content: expect.stringContaining('"tool": "echo"') },
      { role: 'user', content: 'Result of echo: hi }' },
    ]);

    client.frames.length = 0;
    harness.fake.llm = (body: any) => (body.tools ? { tokens: [], status: 500 } : { tokens: tokens('Still in prompt mode.') });
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 1, 5000);
    client.send({ type: 'text-input', text: 'And now?', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    const last = harness.fake.chatRequests().at(-1)!;
    expect(last.body.tools).toBeUndefined();
    expect(last.body.messages[0].content).toContain('Server: tools');
    expect(of(client, 'error')).toEqual([]);
    await client.close();
  }, 30_000);
});

describe('tool servers that misbehave, and the step cap (shared servers, the default)', () => {
  const crashy = shellWrappedServer(['--exit-on-call']);
  const sleepy = shellWrappedServer(['--hang']);
  const noisy = shellWrappedServer(['--garbage']);
  const harness = useFakeEngineServer(
    // Starting a server has its own bound (mcp_start_timeout_seconds, left at its default): the call bound is only
    // waited out by the server that never answers.
    mcpConf({ crashy: crashy.spec }, { 'system_config.mcp_call_timeout_seconds': 1, 'system_config.mcp_max_tool_steps': 2 }),
  );

  function useServer(name: string, spec: { command: string; args: string[] }) {
    harness.fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { [name]: spec } }));
    harness.fixture.write(
      'characters/tools.yaml',
      [
        'character_config:',
        '  conf_name: tools',
        `  conf_uid: tools-${name}`,
        '  agent_config:',
        '    agent_settings:',
        '      basic_memory_agent:',
        '        use_mcpp: true',
        `        mcp_enabled_servers: [${name}]`,
      ].join('\n'),
    );
  }

  async function runTurn(text: string) {
    const client = await connected(harness.server.wsUrl);
    client.send({ type: 'switch-config', file: 'tools.yaml' });
    await client.next('config-switched', 1, 5000);
    client.frames.length = 0;
    client.send({ type: 'text-input', text, images: [] });
    await client.waitUntil((fs) => fs.some((f) => f.type === 'backend-synth-complete' || f.text === 'conversation-chain-end'), 15000, 'end of reply');
    return client;
  }

  test('a server that exits in the middle of a call: error status, the model is told, the session goes on', async () => {
    useServer('crashy', crashy.spec);
    harness.fake.llm = callsOnceThenAnswers({ name: 'add', arguments: '{"a":1,"b":2}' }, () => 'The tool broke.', '');
    const client = await runTurn('Add please');
    const statuses = of(client, 'tool_call_status');
    expect(statuses.map((s) => s.status)).toEqual(['running', 'error']);
    expect(statuses[1]!.content).toMatch(/^Error: tool server "crashy" (failed|exited)/);
    expect(of(client, 'audio').map((a) => a.display_text.text)).toEqual(['The tool broke.']);
    expect(of(client, 'error')).toEqual([]);
    // The next call starts the server again.
    harness.fake.llm = callsOnceThenAnswers({ name: 'echo', arguments: '{"text":"back"}' }, () => 'It is back.', '');
    client.frames.length = 0;
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 1, 5000);
    client.send({ type: 'text-input', text: 'Echo back', images: [] });
    await client.next('backend-synth-complete', 1, 15000);
    expect(of(client, 'tool_call_status').map((s) => `${s.status}:${s.content}`)).toEqual(['running:Input: {"text":"back"}', 'completed:back']);
    await client.close();
    // Shared (the default): the restarted server stays warm after the session, one group (sh and the server).
    expect(processesWith(crashy.tag)).toHaveLength(2);
  }, 30_000);

  test('a server that never answers: an error status after the configured bound', async () => {
    useServer('sleepy', sleepy.spec);
    harness.fake.llm = callsOnceThenAnswers({ name: 'add', arguments: '{"a":1,"b":2}' }, () => 'No answer.', '');
    const client = await runTurn('Add please');
    expect(of(client, 'tool_call_status').map((s) => `${s.status}:${s.content}`)).toEqual([
      'running:Input: {"a":1,"b":2}',
      'error:Error: tool server "sleepy" did not answer within 1 s',
    ]);
    await client.close();
    expect(processesWith(sleepy.tag)).toHaveLength(2); // shared: still warm, and still one

  }, 30_000);

  test('a server that prints garbage between its answers still works', async () => {
    useServer('noisy', noisy.spec);
    harness.fake.llm = callsOnceThenAnswers({ name: 'echo', arguments: '{"text":"clean"}' }, () => 'Clean.', '');
    const client = await runTurn('Echo');
    expect(of(client, 'tool_call_status').map((s) => `${s.status}:${s.content}`)).toEqual(['running:Input: {"text":"clean"}', 'completed:clean']);
    await client.close();
  }, 30_000);

  test('a server that cannot start: one clear error, and the model is answered without tools', async () => {
    useServer('missing', { command: '/nonexistent/mcp-server', args: [] });
    harness.fake.llm = () => ({ tokens: tokens('No tools today.') });
    const client = await runTurn('Anything?');
    expect(of(client, 'error')).toEqual([{ type: 'error', code: 'mcp', message: expect.stringMatching(/^MCP: tool server "missing" did not start: .*ENOENT/) }]);
    expect(harness.fake.chatRequests().at(-1)!.body.tools).toBeUndefined();
    await client.close();
  }, 30_000);

  test('the step cap: calls beyond mcp_max_tool_steps are not run, and the turn ends', async () => {
    useServer('noisy', noisy.spec);
    const before = harness.fake.chatRequests().length;
    harness.fake.llm = () => ({ tokens: [], toolCalls: [{ id: `call_${harness.fake.chatRequests().length}`, name: 'echo', arguments: '{"text":"again"}' }] });
    const client = await runTurn('Loop forever');
    expect(harness.fake.chatRequests().length - before).toBe(3);
    expect(of(client, 'tool_call_status').map((s) => s.status)).toEqual(['running', 'completed', 'running', 'completed', 'error']);
    expect(of(client, 'tool_call_status').at(-1)!.content).toBe('Error: not run: the model asked for tools more than 2 times in one reply');
    await client.close();
  }, 30_000);
});
