/**
 * npm run bench:mcp [-- --cycles 50 --calls 500 --opens 300 --replies 60]
 *
 * (a) How long a per-session tool server (`per_session: true`) outlives its session: the real server (this process,
 *     loopback) with a character whose MCP server is the project's test server launched through `sh -c` (as npx/uvx
 *     servers are). Each cycle connects, lets the fake LLM call a tool (so the server is running), then sends
 *     `switch-config` or closes the socket, and times from that moment until every process of the tool server
 *     (shell, server) is gone from /proc.
 * (b) The added latency of one tool call through the actors (toolbox → mcpServer actor → process-group stdio
 *     transport → server and back) against the MCP SDK's own Client + StdioClientTransport on the same server,
 *     calls interleaved one for one so both see the same machine load.
 * (c) First audio of a reply that calls a tool (text-input → first `audio`; the model calls `echo` first and speaks
 *     after the result): in a fresh session (a page open) against a session that already called, interleaved, with
 *     the shared server (the default), and fresh sessions with `per_session: true` for comparison.
 * (d) --opens page opens, each with a tool call, against a shared server: tool processes sampled every 2 ms
 *     (at most the configured servers), CPU of this process per cycle (last 100 / first 100); then the idle bound
 *     (1 s here) and a shutdown with the server busy, each followed by a count of tool processes in /proc.
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
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { startFakeAiServer, tokens } from '../test/fakes/fake-ai-server.js';
import { editConf, useFakeEngines } from '../test/helpers/engine-config.js';
import { alive, processesWith } from '../test/helpers/process-probes.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';
import { ToolListCache } from '../src/mcp/tool-list-cache.js';

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

/** The real server with the fake engines and one MCP server (the test server through `sh -c`), tagged for /proc. */
async function benchServer(options: { perSession: boolean; idleStopSeconds?: number }) {
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
  const spec = { command: 'sh', args: ['-c', command], ...(options.perSession ? { per_session: true } : {}) };
  writeFileSync(path.join(root, 'mcp_servers.json'), JSON.stringify({ mcp_servers: { tools: spec } }));
  useFakeEngines(root, fake.baseUrl);
  const agent = 'character_config.agent_config.agent_settings.basic_memory_agent';
  editConf(root, {
    [`${agent}.use_mcpp`]: true,
    [`${agent}.mcp_enabled_servers`]: ['tools'],
    ...(options.idleStopSeconds ? { 'system_config.mcp_idle_stop_seconds': options.idleStopSeconds } : {}),
  });
  const app = await loadAppConfig({ root, packageRoot: REPO });
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
  return {
    server,
    fake,
    tag,
    async close() {
      await server.stop();
      await fake.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function exitTimes(cycles: number) {
  const { server, tag, close } = await benchServer({ perSession: true });
  const results: Record<'switch' | 'close', number[]> = { switch: [], close: [] };
  try {
    for (let i = 0; i < cycles * 2; i++) {
      const end = i % 2 === 0 ? 'switch' : 'close';
      results[end].push(await cycle(server.wsUrl, tag, end));
    }
    const leftover = processesWith(tag);
    return { ...results, leftover };
  } finally {
    await close();
  }
}

/** A client of the bench: frames by type, and a wait for a frame. */
class BenchClient {
  private readonly ws: WebSocket;
  private waiters: Array<{ test: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.type === 'error') console.error(`  error frame: ${frame.message}`);
      for (const w of this.waiters.filter((w) => w.test(frame))) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(frame);
      }
    });
  }
  static async open(wsUrl: string): Promise<BenchClient> {
    const ws = new WebSocket(wsUrl);
    const client = new BenchClient(ws);
    const ready = client.until((f) => f.type === 'control' && f.text === 'start-mic');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await ready;
    return client;
  }
  until(test: (f: Frame) => boolean): Promise<Frame> {
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
  /** text-input → first audio (ms); then the reply is played out and the chain ended. */
  async toolReply(): Promise<number> {
    const audio = this.until((f) => f.type === 'audio');
    const synthDone = this.until((f) => f.type === 'backend-synth-complete');
    const started = performance.now();
    this.ws.send(JSON.stringify({ type: 'text-input', text: 'echo hi', images: [] }));
    await audio;
    const firstAudio = performance.now() - started;
    await synthDone;
    const end = this.until((f) => f.type === 'control' && f.text === 'conversation-chain-end');
    this.ws.send(JSON.stringify({ type: 'frontend-playback-complete' }));
    await end;
    return firstAudio;
  }
  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

interface Frame {
  type: string;
  text?: string;
  status?: string;
  message?: string;
}

/** (c) First audio of a tool-calling reply: fresh sessions against a warm one, interleaved. */
async function firstAudio(replies: number) {
  const shared = await benchServer({ perSession: false });
  const own = await benchServer({ perSession: true });
  const times = { fresh: [] as number[], warm: [] as number[], perSessionFresh: [] as number[] };
  try {
    const warm = await BenchClient.open(shared.server.wsUrl);
    for (let i = 0; i < 5; i++) await warm.toolReply(); // starts the shared server, discovers its tools
    const warmOwn = await BenchClient.open(own.server.wsUrl);
    await warmOwn.toolReply(); // discovers the per-session server's tools once
    await warmOwn.close();
    for (let i = 0; i < replies; i++) {
      const fresh = await BenchClient.open(shared.server.wsUrl);
      times.fresh.push(await fresh.toolReply());
      await fresh.close();
      times.warm.push(await warm.toolReply());
      const freshOwn = await BenchClient.open(own.server.wsUrl);
      times.perSessionFresh.push(await freshOwn.toolReply());
      await freshOwn.close();
    }
    await warm.close();
  } finally {
    await shared.close();
    await own.close();
  }
  return times;
}

/** /proc/self/stat user + system CPU time, in ms (this process: server, clients and fake engines). */
const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** (d) Page opens with a tool call each; then the idle bound and a busy shutdown. */
async function pageOpens(opens: number) {
  const bench = await benchServer({ perSession: false, idleStopSeconds: 1 });
  let maxProcesses = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxProcesses = Math.max(maxProcesses, processesWith(bench.tag).length);
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const cpu: number[] = [];
  let afterIdle = -1;
  let idleMs = 0;
  let afterShutdown = -1;
  try {
    for (let i = 0; i < opens; i++) {
      const before = cpuMs();
      const client = await BenchClient.open(bench.server.wsUrl);
      await client.toolReply();
      await client.close();
      cpu.push(cpuMs() - before);
    }
    sampling = false;
    await sampler;
    // The idle bound: no call from now on.
    const idleFrom = performance.now();
    while (processesWith(bench.tag).length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    idleMs = performance.now() - idleFrom;
    afterIdle = processesWith(bench.tag).length;
    // Busy at shutdown: three sessions waiting for a tool call that takes 20 s.
    bench.fake.llm = () => ({ tokens: [], toolCalls: [{ id: 'call_1', name: 'wait', arguments: '{"ms": 20000}' }] });
    const clients = await Promise.all([1, 2, 3].map(() => BenchClient.open(bench.server.wsUrl)));
    await Promise.all(
      clients.map((c) => {
        const running = c.until((f) => f.type === 'tool_call_status' && f.status === 'running');
        c.send({ type: 'text-input', text: 'take your time', images: [] });
        return running;
      }),
    );
  } finally {
    sampling = false;
    await bench.close();
    afterShutdown = processesWith(bench.tag).length;
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { maxProcesses, samples, cpu, firstCpu: mean(cpu.slice(0, 100)), lastCpu: mean(cpu.slice(-100)), afterIdle, idleMs, afterShutdown };
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
  const opens = argNumber('opens', 300);
  const replies = argNumber('replies', 60);
  console.log(`bench:mcp — node ${process.version}, ${os.cpus().length} CPUs`);

  const exits = await exitTimes(cycles);
  console.log(`\n(a) per_session: true — session end → tool server (sh -c wrapper + server) gone from /proc, ${cycles} cycles each`);
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

  const audio = await firstAudio(replies);
  console.log(`\n(c) text-input → first audio of a reply that calls a tool first, ${replies} replies each, interleaved`);
  console.log(`    fresh session, shared server       median ${ms(median(audio.fresh))}  p90 ${ms(percentile(audio.fresh, 90))}`);
  console.log(`    warm session, shared server        median ${ms(median(audio.warm))}  p90 ${ms(percentile(audio.warm, 90))}`);
  console.log(`    fresh / warm (target ≤ 1.2)        ${(median(audio.fresh) / median(audio.warm)).toFixed(2)}`);
  console.log(`    fresh session, per_session: true   median ${ms(median(audio.perSessionFresh))}  p90 ${ms(percentile(audio.perSessionFresh, 90))}`);
  console.log(`    upstream, fresh page (issue 15, same kind of mock, node echo server): 79 ms`);

  const p = await pageOpens(opens);
  console.log(`\n(d) ${opens} page opens, one tool call each, 1 configured server (sh -c wrapper + server: 2 processes per server)`);
  console.log(`    tool processes, max of ${p.samples} samples: ${p.maxProcesses} (${p.maxProcesses / 2} server group(s); configured: 1)`);
  console.log(`    CPU per cycle: first 100 ${ms(p.firstCpu)}, last 100 ${ms(p.lastCpu)}, ratio ${(p.lastCpu / p.firstCpu).toFixed(2)} (target ≤ 1.1)`);
  console.log(`    after the idle bound (1 s; gone ${ms(p.idleMs)} after the last call): ${p.afterIdle} tool processes`);
  console.log(`    after shutdown with the server busy: ${p.afterShutdown} tool processes`);
}

await main();
