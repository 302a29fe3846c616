/**
 * npm run bench:memory [-- --queries N]
 *
 * Long-term memory (src/memory/), lexical (SQLite FTS5, BM25), on real files in a temporary chat_history/:
 *  1. one character with 1,000 / 10,000 / 100,000 stored messages (histories of 200 messages: small talk with a
 *     vocabulary of 20,000 words drawn with Zipf's law): the index built from the files (time, and its size on disk),
 *     both per 10,000 messages; search latency p50 / p99 over N queries (what a turn's recall costs: query built,
 *     searched, k = 5, the current history left out); and the cost of indexing one turn (2 messages appended to a
 *     history of 200) — off the reply path, in the memory actor;
 *  2. retrieval quality: 60 seeded multi-session dialogues in which 20 facts about the user are said once and asked
 *     about 40 times in later sessions, worded as people ask (bench/memory-dialogues.ts): the share of questions
 *     whose evidence message (the user saying the fact) is among the 5 recalled, and first; with embeddings too when
 *     MEMORY_BENCH_EMBEDDINGS_URL (and _MODEL, _KEY) name an OpenAI-compatible service, or
 *     MEMORY_BENCH_EMBEDDINGS_PATH a GGUF embedding model (run as the server runs memory.embeddings.model_path);
 *  3. first audio with memory on and off (bench/memory-first-audio.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryIndex, MEMORY_FILE } from '../src/memory/memory-index.js';
import { createEmbed, type Embed } from '../src/memory/memory-embeddings.js';
import { argNumber, mb, ms, percentile } from './bench-utils.js';
import { dialogues, messagesFor, seeded, smallTalk, vocabulary, type Message } from './memory-dialogues.js';
import { firstAudio } from './memory-first-audio.js';
import { LocalEmbeddingModel, localEmbeddingSpec } from '../src/memory/local-embeddings.js';
import { runModelProcess } from '../src/engines/llama/llama-model-actor.js';
import { createLogger } from '../src/observability/logger.js';

const QUERIES = argNumber('queries', 1000);
const PER_FILE = 200;
const CHARACTER = 'bench';

const pad = (n: number) => String(n).padStart(2, '0');
const uidOf = (n: number) => `2026-01-01_00-00-00_${String(n).padStart(32, '0')}`;
const stampOf = (day: number, i: number) => {
  const d = new Date(Date.UTC(2026, 0, 1 + day, 8, 0, 0) + i * 20_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
};

function writeHistory(dir: string, uid: string, day: number, messages: Message[]) {
  const entries = [{ role: 'metadata', timestamp: stampOf(day, 0) }, ...messages.map((m, i) => ({ role: m.role, timestamp: stampOf(day, i + 1), content: m.content, name: m.role === 'human' ? 'Human' : 'Mao' }))];
  writeFileSync(path.join(dir, `${uid}.json`), JSON.stringify(entries, null, 2));
}

async function scale(total: number, show = true) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-memory-'));
  const dir = path.join(root, CHARACTER);
  mkdirSync(dir);
  const random = seeded(total);
  const word = vocabulary(random, 20_000);
  const files = Math.ceil(total / PER_FILE);
  for (let f = 0; f < files; f++) writeHistory(dir, uidOf(f), f, messagesFor(random, word, Math.min(PER_FILE, total - f * PER_FILE)));

  const index = new MemoryIndex(root);
  let started = performance.now();
  await index.reconcile(CHARACTER);
  const buildMs = performance.now() - started;
  const bytes = statSync(path.join(dir, MEMORY_FILE)).size;

  const queries = Array.from({ length: QUERIES }, () => `${smallTalk(random, 1)[0]!.content} ${word()}`);
  index.search(CHARACTER, queries[0]!, 5);
  const latencies: number[] = [];
  let found = 0;
  for (const q of queries) {
    started = performance.now();
    found += index.search(CHARACTER, q, 5, uidOf(0)).length;
    latencies.push(performance.now() - started);
  }

  // One turn indexed: 2 messages appended to a history of PER_FILE, then the sync job.
  const turnCosts: number[] = [];
  const grown = messagesFor(random, word, PER_FILE);
  for (let i = 0; i < 50; i++) {
    grown.push(...messagesFor(random, word, 2));
    writeHistory(dir, uidOf(files), files, grown);
    started = performance.now();
    await index.sync(CHARACTER, uidOf(files));
    turnCosts.push(performance.now() - started);
  }
  index.close();
  rmSync(root, { recursive: true, force: true });
  const per10k = 10_000 / total;
  if (!show) return;
  console.log(
    `${String(total).padStart(7)} messages  search p50 ${ms(percentile(latencies, 50)).padStart(9)}  p99 ${ms(percentile(latencies, 99)).padStart(9)}` +
      `  (${(found / QUERIES).toFixed(1)} hits/query)  build ${ms(buildMs * per10k).padStart(10)} and ${mb(bytes * per10k)} per 10,000 messages` +
      `  one turn indexed p50 ${ms(percentile(turnCosts, 50))} p99 ${ms(percentile(turnCosts, 99))}`,
  );
}

/** memory.embeddings for the quality set, when the environment names a service (none is downloaded for the bench). */
const EMBEDDINGS = process.env.MEMORY_BENCH_EMBEDDINGS_URL
  ? { base_url: process.env.MEMORY_BENCH_EMBEDDINGS_URL, model: process.env.MEMORY_BENCH_EMBEDDINGS_MODEL ?? 'nomic-embed-text', api_key: process.env.MEMORY_BENCH_EMBEDDINGS_KEY ?? '', timeout_ms: 60_000 }
  : undefined;

/** memory.embeddings.model_path for the bench: the model process as the memory actor runs it, ended after. */
const EMBEDDINGS_PATH = process.env.MEMORY_BENCH_EMBEDDINGS_PATH;
function localEmbedder(file: string) {
  const spec = localEmbeddingSpec({ model_path: file, context_size: 512, threads: 'auto', gpu_layers: 'auto' }, process.cwd());
  const holder = new LocalEmbeddingModel();
  const stop = runModelProcess(spec, createLogger({ level: 'warn' }), (event) => {
    if (event.type === 'model.loaded') holder.attach(event.model);
    else if (event.type !== 'model.lease' && event.type !== 'model.release') holder.detach(event.message);
  });
  return { model: path.basename(spec.file), embed: holder.embed, stop };
}

async function quality() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-memory-q-'));
  const dir = path.join(root, CHARACTER);
  mkdirSync(dir);
  const { sessions, questions } = dialogues(7, 60, 25);
  sessions.forEach((s, i) => writeHistory(dir, uidOf(i), i, s.messages));
  const index = new MemoryIndex(root);
  await index.reconcile(CHARACTER);
  const messages = sessions.reduce((n, s) => n + s.messages.length, 0);
  const share = (n: number) => `${((100 * n) / questions.length).toFixed(1)} %`;
  const measure = async (label: string, embed?: Embed) => {
    const signal = new AbortController().signal;
    if (embed) await index.embedMissing(CHARACTER, embedder!.model, embed, signal);
    let top5 = 0;
    let top1 = 0;
    const missed: string[] = [];
    for (const q of questions) {
      const vector = embed ? (await embed([q.text], signal))[0] : undefined;
      const query = vector ? { model: embedder!.model, vector } : undefined;
      const hits = index.searchHybrid(CHARACTER, q.text, 5, uidOf(q.askedIn), query);
      const rank = hits.findIndex((h) => h.history_uid === uidOf(q.evidence.session) && h.index === q.evidence.message + 1);
      if (rank >= 0) top5++;
      if (rank === 0) top1++;
      if (rank < 0) missed.push(q.text);
    }
    console.log(`retrieval (${label}): ${sessions.length} sessions, ${messages} messages, ${questions.length} questions about earlier sessions`);
    console.log(`  evidence in the top 5: ${top5}/${questions.length} (${share(top5)})   first: ${top1}/${questions.length} (${share(top1)})`);
    console.log(`  missed: ${missed.map((m) => JSON.stringify(m)).join(', ') || 'none'}`);
  };
  await measure('lexical, BM25');
  const embedder = EMBEDDINGS ? { model: EMBEDDINGS.model, embed: createEmbed(EMBEDDINGS), stop: () => {} } : EMBEDDINGS_PATH ? localEmbedder(EMBEDDINGS_PATH) : undefined;
  if (embedder) await measure(`BM25 + embeddings by ${embedder.model}, fused by rank`, embedder.embed);
  else console.log('retrieval with embeddings: not measured (set MEMORY_BENCH_EMBEDDINGS_URL, e.g. http://127.0.0.1:11434/v1, and MEMORY_BENCH_EMBEDDINGS_MODEL; or MEMORY_BENCH_EMBEDDINGS_PATH to a GGUF embedding model)');
  embedder?.stop();
  index.close();
  rmSync(root, { recursive: true, force: true });
}

// The WebAssembly module is compiled, then optimised, while the first index is used: a first size, not shown, warms it.
await scale(2_000, false);
const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`bench:memory  node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} (load average ${load}), ${QUERIES} queries per size`);
for (const total of [1_000, 10_000, 100_000]) await scale(total);
await quality();
console.log(await firstAudio(argNumber('turns', 110), 10_000));
