import { tokens } from '../fakes/fake-ai-server.js';
import { shellWrappedServer } from '../helpers/mcp-fixture.js';
import { processesWith, settleTo } from '../helpers/process-probes.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

const AGENT = 'character_config.agent_config.agent_settings.basic_memory_agent';

/**
 * Soak (npm run test:soak): many sessions that each start a tool server of their own (`per_session: true`) through a
 * shell wrapper and go away. (Shared servers outlive sessions by design: test/mcp/shared-tool-servers.test.ts.)
 */
describe('MCP: 200 sessions that call a per-session tool server and close', () => {
  const tools = shellWrappedServer();
  const harness = useFakeEngineServer({
    conf: { [`${AGENT}.use_mcpp`]: true, [`${AGENT}.mcp_enabled_servers`]: ['tools'] },
    prepare: (fixture) => fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { tools: { ...tools.spec, per_session: true } } })),
  });

  test('200 connect → tool call → close cycles leave no MCP process and no session actor', async () => {
    harness.fake.llm = (body: { messages: Array<{ role: string }> }) =>
      body.messages.some((m) => m.role === 'tool') ? { tokens: tokens('Two.') } : { tokens: [], toolCalls: [{ id: 'call_1', name: 'add', arguments: '{"a":1,"b":1}' }] };
    for (let i = 0; i < 200; i++) {
      const client = await TestClient.connect(harness.server.wsUrl);
      await client.ready();
      client.send({ type: 'text-input', text: 'One plus one?', images: [] });
      await client.waitUntil((fs) => fs.some((f) => f.type === 'tool_call_status' && f.status === 'completed'), 15000, 'tool result');
      await client.close();
    }
    expect(await settleTo(() => processesWith(tools.tag), [], 10000)).toEqual([]);
    expect(await settleTo(() => harness.server.census.countExcept(SERVER_ACTOR_KINDS), 0, 5000)).toBe(0);
  }, 240_000);
});
