/**
 * npm run bench:mcp [-- --cycles 50 --calls 500]
 *
 * (a) How long a tool server outlives its session: the real server (this process, loopback) with a character whose
 *     MCP server is the project's test server launched through `sh -c` (as npx/uvx servers are). Each cycle connects,
 *     lets the fake LLM call a tool (so the server is running), then sends `switch-config` or closes the socket, and
 *     times from that moment until every process of the tool server (shell, server) is gone from /proc.
 * (b) The added latency of one tool call through the actors (toolbox → mcpServer actor → process-group stdio
 *     transport → server and back) against the MCP SDK's own Client + StdioClientTransport on the same server,
 *     calls interleaved one for one so both see the same machine load.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import WebSocket from 'ws';
import { createActor, fromCallback, type EventObject } from 'xstate';
import { toolboxMachine, type ToolboxReply } from '../machines/toolbox.machine.js';
import { loadAppConfig } from '../src/config/app-config.js';
import { createMcpServerActor } from '../src/mcp/mcp-server-actor.js';
import { ToolListCache } from '../src/mcp/tool-catalog.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { startFakeAiServer, tokens } from '../test/fakes/fake-ai-server.js';
import { editConf, useFakeEngines } from '../test/helpers/engine-config.js';
import { alive, processesWith } from '../test/helpers/process-probes.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEST_SERVER = path.join(REPO, 'test/fakes/mcp-test-server.mjs');

/** Resolves when every pid has exited, polling each one every 0.5 ms. */
async function allGone(pids: number[]): Promise<number> {
  for (;;) {
    if (!pids.some(alive)) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 0.5));
  }
}

/** One session: connect, a tool call, then `end` it; resolves with (end → the tool server's last process gone). */
function cycle(wsUrl: string, tag: string, end: 'switch' | 'close'): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    let ended = false;
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; text?: string; status?: string };
      if (frame.type === 'control' && frame.text === 'start-mic') ws.send(JSON.stringify({ type: 'text-input', text: 'echo', images: [] }));
      if (frame.type === 'error') reject(new Error(JSON.stringify(frame)));
      if (frame.type === 'tool_call_status' && frame.status === 'completed' && !ended) {
        ended = true;
        const pids = processesWith(tag);
        if (pids.length === 0) return reject(new Error('no tool server process found'));
        const started = performance.now();
        if (end === 'switch') ws.send(JSON.stringify({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' }));
        else ws.close();
        void allGone(pids).then((gone) => {
          if (end === 'switch') ws.close();
          resolve(gone - started);
        });
      }
    });
  });
}

async function exitTimes(cycles: number) {
  const fake = await startFakeAiServer();
  fake.llm = (body: { messages: Array<{ role: string }> }) =>
    body.messages.some((m) => m.role === 'tool')
      ? { tokens: tokens('Done.') }
      : { tokens: [], toolCalls: [{ id: 'call_1', name: 'echo', arguments: '{"text":"hi"}' }] };
  fake.tts.msPerChar = 1;
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-bench-mcp-'));
  for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(path.join(REPO, f), path.join(root, f), { recursive: true });
  const tag = `vas-bench-${randomUUID()}`;
  const command = `"${process.execPath}" ${TEST_SERVER} --tag=${tag}; status=$?; exit $status`;
  writeFileSync(path.join(root, 'mcp_servers.json'), JSON.stringify({ mcp_servers: { tools: { command: 'sh', args: ['-c', command] } } }));
  useFakeEngines(root, fake.baseUrl);
  const agent = 'character_config.agent_config.agent_settings.basic_memory_agent';
  editConf(root, { [`${agent}.use_mcpp`]: true, [`${agent}.mcp_enabled_servers`]: ['tools'] });
  const app = await loadAppConfig({ root, packageRoot: REPO });
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
  const results: Record<'switch' | 'close', number[]> = { switch: [], close: [] };
  try {
    for (let i = 0; i < cycles * 2; i++) {
      const end = i % 2 === 0 ? 'switch' : 'close';
      results[end].push(await cycle(server.wsUrl, tag, end));
    }
    const leftover = processesWith(tag);
    return { ...results, leftover };
  } finally {
    await server.stop();
    await fake.close();
    rmSync(root, { recursive: true, force: true });
  }
}

async function callLatency(calls: number) {
  const tag = `vas-bench-${randomUUID()}`;
  // The SDK on its own.
  const direct = new Client({ name: 'bench', version: '1' });
  await direct.connect(new StdioClientTransport({ command: process.execPath, args: [TEST_SERVER, `--tag=${tag}`], stderr: 'ignore' }));
  // The same server behind the toolbox and its mcpServer actor.
  const toolbox = createActor(toolboxMachine.provide({ actors: { mcpServer: createMcpServerActor(createLogger({ level: 'error' })) } }), {
    input: {
      clientUid: 'bench',
      servers: { tools: { command: process.execPath, args: [TEST_SERVER, `--tag=${tag}`] } },
      toolLists: new ToolListCache(),
      startTimeoutMs: 120_000,
      callTimeoutMs: 30_000,
    },
  }).start();
  let answer: ((reply: ToolboxReply) => void) | undefined;
  const replyTo = createActor(
    fromCallback<EventObject>(({ receive }) => {
      receive((event) => answer?.(event as ToolboxReply));
    }),
  ).start();
  const viaActor = (n: number) =>
    new Promise<void>((resolve, reject) => {
      answer = (reply) => (reply.type === 'tool.result' && !reply.isError ? resolve() : reject(new Error(JSON.stringify(reply))));
      toolbox.send({ type: 'tool.call', callId: `c${n}`, server: 'tools', tool: 'echo', args: { text: 'ping' }, replyTo });
    });
  const times = { direct: [] as number[], actor: [] as number[] };
  try {
    for (let i = 0; i < 20; i++) {
      await viaActor(-i); // starts the server, warms both paths
      await direct.callTool({ name: 'echo', arguments: { text: 'ping' } });
    }
    for (let i = 0; i < calls; i++) {
      let t = performance.now();
      await direct.callTool({ name: 'echo', arguments: { text: 'ping' } });
      times.direct.push(performance.now() - t);
      t = performance.now();
      await viaActor(i);
      times.actor.push(performance.now() - t);
    }
  } finally {
    toolbox.stop();
    replyTo.stop();
    await direct.close();
  }
  return times;
}

async function main() {
  const cycles = argNumber('cycles', 50);
  const calls = argNumber('calls', 500);
  console.log(`bench:mcp — node ${process.version}, ${os.cpus().length} CPUs`);

  const exits = await exitTimes(cycles);
  console.log(`\n(a) session end → tool server (sh -c wrapper + server) gone from /proc, ${cycles} cycles each`);
  for (const end of ['switch', 'close'] as const) {
    const label = end === 'switch' ? 'switch-config' : 'disconnect   ';
    console.log(`    ${label}  median ${ms(median(exits[end]))}  p90 ${ms(percentile(exits[end], 90))}  max ${ms(Math.max(...exits[end]))}`);
  }
  console.log(`    tool server processes left afterwards: ${exits.leftover.length}`);

  const times = await callLatency(calls);
  const added = times.actor.map((t, i) => t - times.direct[i]!);
  console.log(`\n(b) echo tool call round trip, ${calls} calls each, interleaved`);
  console.log(`    MCP SDK directly     median ${ms(median(times.direct))}  p99 ${ms(percentile(times.direct, 99))}`);
  console.log(`    through the actors   median ${ms(median(times.actor))}  p99 ${ms(percentile(times.actor, 99))}`);
  console.log(`    added by the actors  median ${ms(median(added))}  (ratio of medians ${(median(times.actor) / median(times.direct)).toFixed(2)})`);
}

await main();
