/**
 * npm run bench:turns [-- --turns 5000]
 *
 * Conversation turns against the real server (this process, loopback), with the fake LLM and TTS of the tests in a
 * second process (each token after FAKE_TOKEN_DELAY_MS = 10, each synthesis after FAKE_TTS_DELAY_MS = 20) and the
 * clients in a third (bench/turn-clients.ts), so the client work is not counted as the server's.
 *  (a) the server's overhead per turn: text-input → first audio frame, as the client sees it, minus the engine time
 *      the fake engines report for that turn from their own process and clock (LLM request read → the token that
 *      completes the first sentence written, plus that sentence's synthesis request read → response ended; see
 *      bench/fake-ai-process.ts). Everything else is the server's: reading the frame, building the request, parsing
 *      the stream, splitting, the synthesis request, WAV work, XState events, event-loop queueing, the loopback hops.
 *      1, 100 and 500 sessions; each session's user waits a random 0–THINK_MS (default 1000) before each message, so
 *      turns overlap as independent users' would.
 *  (b) interrupt → last frame the client receives for that turn.
 *  (c) drift: first-100 vs last-100 text-input → first audio over N sequential turns of one session, starting a
 *      new conversation every 50 turns (so the LLM request does not grow with the conversation), and the same for one
 *      single ever-growing conversation of 1,000 turns, for contrast.
 */
import { spawn, fork } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAppConfig } from '../src/config/app-config.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';
import type { EngineTiming } from './fake-ai-process.js';
import type { ClientCommand, TurnSample } from './turn-clients.js';

const TOKEN_DELAY = Number(process.env.FAKE_TOKEN_DELAY_MS ?? 10);
const TTS_DELAY = Number(process.env.FAKE_TTS_DELAY_MS ?? 20);
const THINK_MS = Number(process.env.THINK_MS ?? 1000);

async function main() {
  const drift = argNumber('turns', 5000);
  // Children run the same way as this file: compiled JS (npm run bench:turns), or TypeScript through tsx.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
  const fake = spawn(process.execPath, [...execArgv, path.join(here, `fake-ai-process${ext}`)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, FAKE_TAGGED: '1' },
  });
  const baseUrl = await new Promise<string>((resolve) => fake.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  /** The engine times the fake engines measured, by turn tag, for the turns completed since the last call. */
  const engineTimes = () =>
    new Promise<Map<string, EngineTiming>>((resolve) => {
      fake.once('message', (entries: Array<[string, EngineTiming]>) => resolve(new Map(entries)));
      fake.send({ cmd: 'timings' });
    });
  const clients = fork(path.join(here, `turn-clients${ext}`), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(command: ClientCommand) =>
    new Promise<T>((resolve, reject) => {
      clients.once('message', (reply: { ok: boolean; result?: T; error?: string }) => (reply.ok ? resolve(reply.result as T) : reject(new Error(reply.error))));
      clients.send(command);
    });

  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-bench-'));
  for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(f, path.join(root, f), { recursive: true });
  useFakeEngines(root, baseUrl, { 'system_config.tts_concurrency': 3 });
  const app = await loadAppConfig({ root, packageRoot: process.cwd() });
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });

  console.log(`bench:turns  node ${process.version}; fake LLM ${TOKEN_DELAY} ms/token and TTS ${TTS_DELAY} ms/sentence (own process); clients in a third process; think time 0–${THINK_MS} ms`);
  try {
    await ask<TurnSample[]>({ cmd: 'turns', url: server.wsUrl, sessions: 20, turnsPerSession: 3, thinkMs: 50 }); // warm-up
    await engineTimes();
    for (const sessions of (process.env.BENCH_SESSIONS ?? '1,100,500').split(',').filter(Boolean).map(Number)) {
      const turnsPerSession = sessions === 1 ? 200 : sessions === 100 ? 10 : 4;
      const samples = await ask<TurnSample[]>({ cmd: 'turns', url: server.wsUrl, sessions, turnsPerSession, thinkMs: sessions === 1 ? 20 : THINK_MS });
      const engines = await engineTimes();
      const total = samples.map((s) => s.firstAudioAt - s.sentAt);
      const timed = samples.filter((s) => engines.has(s.tag));
      const engine = timed.map((s) => engines.get(s.tag)!.llmMs + engines.get(s.tag)!.ttsMs);
      const overhead = timed.map((s, i) => s.firstAudioAt - s.sentAt - engine[i]!);
      console.log(
        `(a) ${String(sessions).padStart(3)} sessions: server overhead median ${ms(median(overhead))}  p99 ${ms(percentile(overhead, 99))}` +
          `   (text-input → first audio median ${ms(median(total))} p99 ${ms(percentile(total, 99))}; engine time median ${ms(median(engine))};` +
          ` ${timed.length}/${samples.length} turns)`,
      );
    }
    const tails = await ask<number[]>({ cmd: 'interrupts', url: server.wsUrl, count: 100 });
    console.log(`(b) interrupt → last frame received: median ${ms(median(tails))}  p99 ${ms(percentile(tails, 99))}  (any frame after the interrupt in ${tails.filter((t) => t > 0).length}/100 turns)`);
    const report = (label: string, latencies: number[]) => {
      const first = latencies.slice(0, 100);
      const last = latencies.slice(-100);
      console.log(`(c) ${label}: first-100 median ${ms(median(first))}, last-100 median ${ms(median(last))}, ratio ${(median(last) / median(first)).toFixed(3)}`);
    };
    const latencies = (samples: TurnSample[]) => samples.map((s) => s.firstAudioAt - s.sentAt);
    report(`${drift} sequential turns, new conversation every 50`, latencies(await ask<TurnSample[]>({ cmd: 'drift', url: server.wsUrl, turns: drift, newConversationEvery: 50 })));
    await engineTimes();
    report('1000 turns of one growing conversation', latencies(await ask<TurnSample[]>({ cmd: 'drift', url: server.wsUrl, turns: 1000, newConversationEvery: 0 })));
    await engineTimes();
  } finally {
    clients.kill();
    await server.stop();
    fake.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
