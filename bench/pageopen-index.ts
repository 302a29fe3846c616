/**
 * npm run bench:pageopen-index [-- --histories 1000 --more 10000]
 *
 * What one more history costs the history index in memory, and what a list costs, without sockets or engines: a
 * folder of --histories files (shaped as a page-open turn writes them: metadata, the user's message, the reply) is
 * listed once to build the index, then --more files are copied in and listed again (the index reads each once).
 * Heap after GC (the index's summaries) and ArrayBuffers after GC (the encoded list kept for the next list) are
 * printed before and after, per added history; then the list time with one change since the last list (an append,
 * what each page open does) and with none, and the time to decode the list as a client would (JSON.parse).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HistoryMessage } from '../src/history/history-format.js';
import { newHistoryUid } from '../src/history/history-stamps.js';
import { HistoryStore, type ListPreview } from '../src/history/history-store.js';
import { stripEmotionTags } from '../src/agent/expressions.js';
import { argNumber, collectGarbage, median, ms } from './bench-utils.js';

const CONF = 'mao_pro_001';
const HIDDEN_TAGS = { joy: 3, sadness: 1, anger: 2, neutral: 0 };
/** The server's preview: replies without the emotion tags the chat does not show. */
const PREVIEW: ListPreview = {
  key: Object.keys(HIDDEN_TAGS).sort().join('\u0000'),
  shown: (m: HistoryMessage) => (m.role === 'ai' ? { ...m, content: stripEmotionTags(m.content, HIDDEN_TAGS) } : m),
};

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function writeHistories(folder: string, from: number, count: number) {
  for (let i = from; i < from + count; i++) {
    const at = new Date(Date.UTC(2025, 0, 1) + i * 1000);
    const stamp = at.toISOString().slice(0, 19);
    writeFileSync(
      path.join(folder, `${newHistoryUid(at)}.json`),
      JSON.stringify(
        [
          { role: 'metadata', timestamp: stamp },
          { role: 'human', timestamp: stamp, content: `hello q${i}, how is the weather?`, name: 'Human' },
          { role: 'ai', timestamp: stamp, content: `sure q${i} it is sunny. we could go for a walk. the park is lovely now. bring a hat along.`, name: 'Mao', avatar: 'mao.png' },
        ],
        null,
        2,
      ),
    );
  }
}

async function memory() {
  await collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

async function main() {
  const histories = argNumber('histories', 1000);
  const more = argNumber('more', 10_000);
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-pageopen-index-'));
  const folder = path.join(root, CONF);
  mkdirSync(folder, { recursive: true });
  try {
    writeHistories(folder, 0, histories);
    const store = new HistoryStore(root);
    let list = await store.listEncoded(CONF, { preview: PREVIEW });
    const before = await memory();
    const bytesBefore = list.byteLength;
    list = undefined!;
    writeHistories(folder, histories, more);
    list = await store.listEncoded(CONF, { preview: PREVIEW });
    const after = await memory();
    console.log(`bench:pageopen-index  node ${process.version}; ${histories} histories, then ${more} more copied in; list with the server's preview`);
    console.log(
      `heap after GC          ${kib(before.heapUsed).padStart(10)} → ${kib(after.heapUsed).padStart(10)}   ${((after.heapUsed - before.heapUsed) / more).toFixed(0).padStart(5)} B per added history`,
    );
    console.log(
      `ArrayBuffers after GC  ${kib(before.arrayBuffers).padStart(10)} → ${kib(after.arrayBuffers).padStart(10)}   ${((after.arrayBuffers - before.arrayBuffers) / more).toFixed(0).padStart(5)} B per added history`,
    );
    console.log(`list of ${list.length} summaries: ${kib(bytesBefore)} → ${kib(list.byteLength)} encoded`);

    const changed: number[] = [];
    const unchanged: number[] = [];
    const decode: number[] = [];
    for (let i = 0; i < 30; i++) {
      const uid = newHistoryUid(new Date(Date.UTC(2026, 0, 1) + i * 1000));
      await store.append(CONF, uid, [{ role: 'human', timestamp: `2026-01-01T00:00:${String(i).padStart(2, '0')}`, content: `hello q${i}`, name: 'Human' }]);
      let t = performance.now();
      await store.listEncoded(CONF, { preview: PREVIEW });
      changed.push(performance.now() - t);
      t = performance.now();
      list = await store.listEncoded(CONF, { preview: PREVIEW });
      unchanged.push(performance.now() - t);
      t = performance.now();
      JSON.parse(list.text);
      decode.push(performance.now() - t);
    }
    console.log(
      `list after one append ${ms(median(changed))}, list unchanged ${ms(median(unchanged))} (medians of 30); a client's JSON.parse of it ${ms(median(decode))}`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
