/**
 * npm run bench:pageopen [-- --opens 10000 --histories 1000]
 *
 * The workload this server exists for: the web client's page being opened and closed, again and again. Each open
 * (bench/pageopen-client.ts, in its own process) connects, sends the four requests the client sends at load, has one
 * text-input turn with the playback handshake, and closes. The server runs in this process, on a copy of the
 * repository's configuration with --histories saved conversations already on disk; the OpenAI-compatible LLM
 * (20 tokens at 5 ms, four sentences that start lower-case) and TTS (20 ms) are the test fakes in a third process.
 *
 * Printed for opens 1–100, around 1,000 and around 10,000 (windows of 100 opens): the open-sequence median (the four
 * replies arrived), the first-audio median, the engine time the fakes measured by their own clock for the same turns
 * (the LLM streaming the first sentence + its synthesis, each from its request's arrival, so the fakes' reading of the
 * request bodies, printed apart, is theirs) and first audio minus it, server CPU per open, replies out of
 * request order, RSS, heap and ArrayBuffers after GC (the history list is kept encoded in a Buffer). Then first audio
 * minus engine time over every open of the run (median, p75, p90), as the issue measured it. Then, for the same
 * windows, where the open sequence goes: when the history-list arrives and its size, the server's time to make it
 * (HistoryStore.listEncoded), and the client's time to parse and check the four replies once they have arrived, with
 * the open sequence plus that (the replies usable by the page).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAppConfig } from '../src/config/app-config.js';
import { newHistoryUid } from '../src/history/history-stamps.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { argNumber, collectGarbage, mb, median, ms } from './bench-utils.js';
import type { EngineTiming } from './fake-ai-process.js';
import type { OpenSample, PageOpenCommand } from './pageopen-client.js';
import { engineMs, FIRST_SENTENCE_TOKENS, overheads, startPageOpenProcesses, TOKEN_DELAY, TTS_DELAY } from './pageopen-workload.js';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * First audio minus engine time over every open of the run, kept as counts in 10 µs buckets (0–100 ms): its
 * percentiles without holding one number per open in the server's process (its heap is measured).
 */
class OverheadHistogram {
  private static readonly BUCKET_MS = 0.01;
  private readonly counts = new Uint32Array(10_000);
  private total = 0;

  add(valueMs: number): void {
    const bucket = Math.min(this.counts.length - 1, Math.max(0, Math.floor(valueMs / OverheadHistogram.BUCKET_MS)));
    this.counts[bucket]!++;
    this.total++;
  }

  get size(): number {
    return this.total;
  }

  /** The bucket's middle holding the p-th percentile. */
  percentile(p: number): number {
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return (i + 0.5) * OverheadHistogram.BUCKET_MS;
    }
    return NaN;
  }
}

async function main() {
  const opens = argNumber('opens', 1000);
  const histories = argNumber('histories', 1000);
  const processes = await startPageOpenProcesses();
  const { baseUrl, run, engineTimes } = processes;

  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-pageopen-'));
  for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(f, path.join(root, f), { recursive: true });
  useFakeEngines(root, baseUrl, { 'system_config.tts_concurrency': 3 });
  const app = await loadAppConfig({ root, packageRoot: process.cwd() });
  const folder = path.join(app.paths.chatHistory, app.baseCharacter.config.conf_uid);
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < histories; i++) {
    const stamp = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString().slice(0, 19);
    writeFileSync(
      path.join(folder, `${newHistoryUid(new Date(Date.UTC(2025, 0, 1) + i * 60_000))}.json`),
      JSON.stringify([
        { role: 'metadata', timestamp: stamp },
        { role: 'human', timestamp: stamp, content: `Saved conversation number ${i}`, name: 'Human' },
        { role: 'ai', timestamp: stamp, content: 'sure, it is sunny today. we could go for a walk.', name: 'Mao', avatar: 'mao.png' },
      ]),
    );
  }
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
  // The server's own time to make each history-list (measured around the store's method, nothing else changed).
  const listTimes: number[] = [];
  const listEncoded = server.history.listEncoded.bind(server.history);
  server.history.listEncoded = async (...args) => {
    const started = performance.now();
    try {
      return await listEncoded(...args);
    } finally {
      listTimes.push(performance.now() - started);
    }
  };
  console.log(
    `bench:pageopen  node ${process.version}; ${opens} opens, ${histories} histories on disk at start; fake LLM ${TOKEN_DELAY} ms/token ` +
      `(first sentence: 5 tokens) and TTS ${TTS_DELAY} ms in their own process; client in a third process`,
  );
  console.log(
    `nominal engine time for first audio: ${FIRST_SENTENCE_TOKENS * TOKEN_DELAY} ms (the first sentence streamed) + ${TTS_DELAY} ms (its synthesis); ` +
      `"engine" below is what the fakes measured, from each request's arrival; "of it, reads" their reading of the two request bodies`,
  );
  console.log(
    'window          open seq  first audio    engine  of it, reads  audio-engine  server CPU/open  out of order  RSS after GC  heap after GC  buffers after GC  histories',
  );
  const breakdown: string[] = [];

  let done = 0;
  const windowAt = (center: number) => Math.max(0, Math.min(opens - 100, center - 50));
  const starts = [...new Set([0, ...(opens >= 1000 ? [windowAt(1000)] : []), ...(opens >= 10_000 ? [windowAt(10_000)] : []), opens - 100])]
    .filter((s) => s >= 0)
    .sort((a, b) => a - b);
  let outOfOrder = 0;
  const allOpens = new OverheadHistogram();
  try {
    for (const start of starts) {
      if (start > done) {
        outOfOrder += await betweenWindows(run, engineTimes, allOpens, server.wsUrl, start - done);
        done = start;
      }
      await engineTimes(); // forget the turns before this window (betweenWindows has counted them)
      listTimes.length = 0;
      const cpuBefore = process.cpuUsage();
      const samples = await run({ cmd: 'opens', url: server.wsUrl, count: 100 });
      const cpu = process.cpuUsage(cpuBefore);
      const engines = await engineTimes();
      const timed = samples.filter((s) => engines.has(s.tag));
      const engine = timed.map((s) => engineMs(engines.get(s.tag)!));
      const reads = timed.map((s) => engines.get(s.tag)!.readMs);
      const beyond = overheads(samples, engines);
      for (const value of beyond) allOpens.add(value);
      done += samples.length;
      outOfOrder += samples.filter((s) => s.outOfOrder).length;
      await collectGarbage();
      const mem = process.memoryUsage();
      const label = `opens ${start + 1}–${done}`.padEnd(16);
      console.log(
        `${label}${ms(median(samples.map((s) => s.openMs))).padStart(9)}  ${ms(median(samples.map((s) => s.firstAudioMs))).padStart(11)}  ` +
          `${ms(median(engine)).padStart(10)}  ${ms(median(reads)).padStart(12)}  ${ms(median(beyond)).padStart(12)}  ` +
          `${ms((cpu.user + cpu.system) / 1000 / samples.length).padStart(15)}  ${String(samples.filter((s) => s.outOfOrder).length).padStart(12)}  ` +
          `${mib(mem.rss).padStart(12)}  ${mib(mem.heapUsed).padStart(13)}  ${mib(mem.arrayBuffers).padStart(16)}  ${String(readdirSync(folder).length).padStart(10)}`,
      );
      breakdown.push(
        `${label}${ms(median(samples.map((s) => s.openMs))).padStart(9)}  ${ms(median(samples.map((s) => s.listMs))).padStart(12)}  ` +
          `${mb(median(samples.map((s) => s.listBytes))).padStart(9)}  ${ms(median(listTimes)).padStart(11)}  ` +
          `${ms(median(samples.map((s) => s.parseMs))).padStart(12)}  ${ms(median(samples.map((s) => s.openMs + s.parseMs))).padStart(16)}`,
      );
    }
    console.log(`replies out of request order in all ${done} opens: ${outOfOrder}`);
    console.log(
      `first audio beyond the engine time, all ${allOpens.size} timed opens: median ${ms(allOpens.percentile(50))}, ` +
        `p75 ${ms(allOpens.percentile(75))}, p90 ${ms(allOpens.percentile(90))}`,
    );
    console.log('where the open sequence goes (medians of the same windows):');
    console.log('window          open seq  list arrives  list size  server list  client parse  open seq + parse');
    for (const row of breakdown) console.log(row);
  } finally {
    processes.stop();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Runs the opens between two windows: counts their out-of-order replies and adds their first-audio overheads to the
 * histogram. Their samples are not kept: this process is the server's, and thousands of samples held until the next
 * window would count as its heap after GC.
 */
async function betweenWindows(
  run: (c: PageOpenCommand) => Promise<OpenSample[]>,
  engineTimes: () => Promise<Map<string, EngineTiming>>,
  allOpens: OverheadHistogram,
  url: string,
  count: number,
): Promise<number> {
  let outOfOrder = 0;
  for (let left = count; left > 0; left -= 500) {
    const samples = await run({ cmd: 'opens', url, count: Math.min(500, left) });
    outOfOrder += samples.filter((s) => s.outOfOrder).length;
    for (const value of overheads(samples, await engineTimes())) allOpens.add(value);
  }
  return outOfOrder;
}

await main();
