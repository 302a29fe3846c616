/**
 * npm run bench:turns [-- --turns 5000]
 *
 * Conversation turns against the real server (this process, loopback), with the fake LLM and TTS of the tests in a
 * second process (each token after FAKE_TOKEN_DELAY_MS = 10, each synthesis after FAKE_TTS_DELAY_MS = 20) and the
 * clients in a third (bench/turn-clients.ts), so the client work is not counted as the server's.
 *  (a) the server's own overhead per turn: text-input → first audio frame at the client, minus the time that turn
 *      spent waiting on the engines (LLM request → first complete sentence, plus its first synthesis), measured in
 *      the server from XState inspection events. 1, 100 and 500 sessions; each session's user waits a random
 *      0–THINK_MS (default 1000) before each message, so turns overlap as independent users' would.
 *  (b) interrupt → last frame the client receives for that turn.
 *  (c) drift: first-100 vs last-100 text-input → first audio over N sequential turns of one session, starting a
 *      new conversation every 50 turns (so the LLM request does not grow with the conversation), and the same for one
 *      single ever-growing conversation of 1,000 turns, for contrast.
 */
import { fork, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAppConfig } from '../src/config/app-config.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer, type RunningServer } from '../src/server/start-server.js';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';
import type { ClientCommand, TurnSample } from './turn-clients.js';

const TOKEN_DELAY = Number(process.env.FAKE_TOKEN_DELAY_MS ?? 10);
const TTS_DELAY = Number(process.env.FAKE_TTS_DELAY_MS ?? 20);
const THINK_MS = Number(process.env.THINK_MS ?? 1000);

type Ref = { sessionId: string; src?: unknown; _parent?: Ref; getSnapshot(): { context?: { clientUid?: string } } };
interface TurnTimes {
  llmStart?: number;
  sentence?: number;
  synthStart?: number;
  synthDone?: number;
}
const now = () => performance.timeOrigin + performance.now();

/** Per client, its turns in order, with the moments the server waited on the engines (from inspection events). */
class EngineTimer {
  private readonly byActor = new Map<string, TurnTimes>();
  private readonly byClient = new Map<string, TurnTimes[]>();

  constructor(server: RunningServer) {
    server.census.subscribe((ev) => {
      const at = now();
      const ref = ev.actorRef as unknown as Ref;
      const turnOf = (r: Ref | undefined, up: number) => {
        let t = r;
        for (let i = 0; i < up; i++) t = t?._parent;
        return t ? this.byActor.get(t.sessionId) : undefined;
      };
      const first = (t: TurnTimes | undefined, key: keyof TurnTimes) => {
        if (t && t[key] === undefined) t[key] = at;
      };
      if (ev.type === '@xstate.actor') {
        if (ref.src === 'turn') {
          const times: TurnTimes = {};
          this.byActor.set(ref.sessionId, times);
          const uid = ref._parent?.getSnapshot().context?.clientUid ?? '';
          this.byClient.set(uid, [...(this.byClient.get(uid) ?? []), times]);
        } else if (ref.src === 'llmStream') first(turnOf(ref, 1), 'llmStart');
        else if (ref.src === 'synthesize') first(turnOf(ref, 2), 'synthStart');
      } else if (ev.type === '@xstate.event') {
        const type = (ev.event as { type: string }).type;
        if (type === 'tts.sentence') first(turnOf(ref, 1), 'sentence');
        else if (type.startsWith('xstate.done.actor.synth.')) first(turnOf(ref, 1), 'synthDone');
      }
    });
  }

  engineMs(uid: string, ordinal: number): number {
    const t = this.byClient.get(uid)?.[ordinal];
    if (!t || t.llmStart === undefined || t.sentence === undefined || t.synthStart === undefined || t.synthDone === undefined) return NaN;
    return t.sentence - t.llmStart + (t.synthDone - t.synthStart);
  }

  forget(): void {
    this.byActor.clear();
    this.byClient.clear();
  }
}

async function main() {
  const drift = argNumber('turns', 5000);
  // Children run the same way as this file: compiled JS (npm run bench:turns), or TypeScript through tsx.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
  const fake = spawn(process.execPath, [...execArgv, path.join(here, `fake-ai-process${ext}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const baseUrl = await new Promise<string>((resolve) => fake.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
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
  const timer = new EngineTimer(server);

  console.log(`bench:turns  node ${process.version}; fake LLM ${TOKEN_DELAY} ms/token and TTS ${TTS_DELAY} ms/sentence (own process); clients in a third process; think time 0–${THINK_MS} ms`);
  try {
    await ask<TurnSample[]>({ cmd: 'turns', url: server.wsUrl, sessions: 20, turnsPerSession: 3, thinkMs: 50 }); // warm-up
    for (const sessions of (process.env.BENCH_SESSIONS ?? '1,100,500').split(',').filter(Boolean).map(Number)) {
      timer.forget();
      const turnsPerSession = sessions === 1 ? 200 : sessions === 100 ? 10 : 4;
      const samples = await ask<TurnSample[]>({ cmd: 'turns', url: server.wsUrl, sessions, turnsPerSession, thinkMs: sessions === 1 ? 20 : THINK_MS });
      const total = samples.map((s) => s.firstAudioAt - s.sentAt);
      const overhead = samples.map((s) => s.firstAudioAt - s.sentAt - timer.engineMs(s.uid, s.ordinal)).filter((v) => !Number.isNaN(v));
      console.log(
        `(a) ${String(sessions).padStart(3)} sessions: server overhead median ${ms(median(overhead))}  p99 ${ms(percentile(overhead, 99))}` +
          `   (text-input → first audio median ${ms(median(total))} p99 ${ms(percentile(total, 99))}; ${overhead.length} turns)`,
      );
    }
    const tails = await ask<number[]>({ cmd: 'interrupts', url: server.wsUrl, count: 100 });
    console.log(`(b) interrupt → last frame received: median ${ms(median(tails))}  p99 ${ms(percentile(tails, 99))}  (any frame after the interrupt in ${tails.filter((t) => t > 0).length}/100 turns)`);
    const report = (label: string, latencies: number[]) => {
      const first = latencies.slice(0, 100);
      const last = latencies.slice(-100);
      console.log(`(c) ${label}: first-100 median ${ms(median(first))}, last-100 median ${ms(median(last))}, ratio ${(median(last) / median(first)).toFixed(3)}`);
    };
    report(`${drift} sequential turns, new conversation every 50`, await ask<number[]>({ cmd: 'drift', url: server.wsUrl, turns: drift, newConversationEvery: 50 }));
    report('1000 turns of one growing conversation', await ask<number[]>({ cmd: 'drift', url: server.wsUrl, turns: 1000, newConversationEvery: 0 }));
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
