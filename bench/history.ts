/**
 * npm run bench:history
 *
 * Append latency to one history of 10, 1,000 and 10,000 messages (each append is atomic: temporary file, fsync,
 * rename, fsync of the folder), median and p99 over 200 appends, with the file size and the heap the store holds.
 * Two strategies, same format on disk:
 *   "re-read"  read and parse the file, append, rewrite it (upstream's way, plus the atomic write);
 *   "cached"   keep the parsed history of files being written (checked against size and mtime), append, rewrite.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newHistoryUid } from '../src/history/history-stamps.js';
import { HistoryStore } from '../src/history/history-store.js';
import { collectGarbage, mb, median, ms, percentile } from './bench-utils.js';

const APPENDS = 200;
const message = (i: number) => ({
  role: (i % 2 ? 'ai' : 'human') as 'ai' | 'human',
  timestamp: '2026-11-24T12:00:00',
  content: `Message number ${i}: a sentence of ordinary length, like people say to a companion.`,
  name: i % 2 ? 'Mao' : 'Human',
  ...(i % 2 ? { avatar: 'mao.png' } : {}),
});

async function run(size: number, strategy: 're-read' | 'cached', root: string) {
  const uid = newHistoryUid();
  const dir = path.join(root, 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${uid}.json`);
  writeFileSync(file, JSON.stringify([{ role: 'metadata', timestamp: '2026-11-24T12:00:00' }, ...Array.from({ length: size }, (_, i) => message(i))], null, 2));
  await collectGarbage();
  const heapBefore = process.memoryUsage().heapUsed;
  let store = new HistoryStore(root);
  const latencies: number[] = [];
  for (let i = 0; i < APPENDS; i++) {
    if (strategy === 're-read') store = new HistoryStore(root);
    const started = performance.now();
    await store.append('bench', uid, [message(size + i)]);
    latencies.push(performance.now() - started);
  }
  await collectGarbage();
  const held = process.memoryUsage().heapUsed - heapBefore;
  const bytes = statSync(file).size;
  console.log(
    `${String(size).padStart(6)} messages (${mb(bytes).padStart(9)})  ${strategy.padEnd(7)}  append median ${ms(median(latencies)).padStart(9)}  p99 ${ms(percentile(latencies, 99)).padStart(9)}  heap held ${mb(Math.max(0, held))}`,
  );
  void store;
}

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-history-bench-'));
  console.log(`bench:history  ${APPENDS} appends each, node ${process.version}, ${os.tmpdir()} on this machine's disk`);
  try {
    for (const size of [10, 1000, 10000]) {
      await run(size, 're-read', root);
      await run(size, 'cached', root);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
