/**
 * The page-open workload shared by bench:pageopen and bench:pageopen-floor: the fake engines (their own process,
 * bench/fake-ai-process.ts) streaming a reply whose sentences start lower-case, and the page-open client (its own
 * process, bench/pageopen-client.ts). The benchmark's process is the server's.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineTiming } from './fake-ai-process.js';
import type { OpenSample, PageOpenCommand } from './pageopen-client.js';

export const TOKEN_DELAY = 5;
export const TTS_DELAY = 20;
/** 20 tokens, four sentences, each starting lower-case after the first. */
export const REPLY = 'sure {tag} it is sunny. we could go for a walk. the park is lovely now. bring a hat along.';
export const FIRST_SENTENCE_TOKENS = 5;

/**
 * What the engines took for the first audio, by their own clocks: the LLM from the chat request's arrival to the
 * first sentence written, the TTS from the synthesis request's arrival to its answer ended. Their reading of the
 * request bodies is theirs, not the server's (the server wrote each request in one go).
 */
export const engineMs = (t: EngineTiming) => t.readMs + t.llmMs + t.ttsMs;

/** First audio beyond what the engines took, for each sample the fakes timed. */
export function overheads(samples: readonly OpenSample[], engines: Map<string, EngineTiming>): number[] {
  return samples.filter((s) => engines.has(s.tag)).map((s) => s.firstAudioMs - engineMs(engines.get(s.tag)!));
}

export interface PageOpenProcesses {
  /** The fake engines' OpenAI-compatible base URL. */
  baseUrl: string;
  /** Runs page opens against a server; resolves with one sample per open. */
  run(command: PageOpenCommand): Promise<OpenSample[]>;
  /** The engine times the fakes measured, by turn tag, for the turns completed since the last ask. */
  engineTimes(): Promise<Map<string, EngineTiming>>;
  stop(): void;
}

export async function startPageOpenProcesses(): Promise<PageOpenProcesses> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
  const fake: ChildProcess = fork(path.join(here, `fake-ai-process${ext}`), [], {
    execArgv,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: {
      ...process.env,
      FAKE_TOKEN_DELAY_MS: String(TOKEN_DELAY),
      FAKE_TTS_DELAY_MS: String(TTS_DELAY),
      FAKE_REPLY: REPLY,
      FAKE_TAGGED: '1',
      FAKE_SENTENCE_TOKENS: String(FIRST_SENTENCE_TOKENS),
    },
  });
  const baseUrl = await new Promise<string>((resolve) => fake.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const client = fork(path.join(here, `pageopen-client${ext}`), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    baseUrl,
    run: (command) =>
      new Promise((resolve, reject) => {
        client.once('message', (reply: { ok: boolean; result?: OpenSample[]; error?: string }) => (reply.ok ? resolve(reply.result!) : reject(new Error(reply.error))));
        client.send(command);
      }),
    engineTimes: () =>
      new Promise((resolve) => {
        fake.once('message', (entries: Array<[string, EngineTiming]>) => resolve(new Map(entries)));
        fake.send({ cmd: 'timings' });
      }),
    stop() {
      client.kill();
      fake.kill('SIGTERM');
    },
  };
}
