import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite from 'node-sqlite3-wasm';
import { MEMORY_FILE } from '../../src/memory/memory-index.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { childPids, settleTo } from '../helpers/process-probes.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { writeTinyGguf } from '../helpers/tiny-gguf.js';
import { TestClient } from '../helpers/ws-client.js';
import { memoryCaughtUp, systemText } from '../helpers/memory.js';

/**
 * memory.embeddings with model_path: a GGUF embedding model (tiny, random weights, written by the test) run by real
 * llama.cpp in a model process owned by the memory actor; every message gets a vector in the index file, and a
 * question that shares no word with anything said still recalls by its vector. What the vectors mean cannot be
 * tested without a real model (docs/testing.md says how to run one).
 */

const CHARACTER = 'mao_pro_001';
const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-embed-'));
const modelFile = path.join(dir, 'tiny-embed.gguf');

/** Model processes of this process loaded for embeddings. */
const embeddingProcesses = () =>
  childPids().filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes('model-process.mjs') && cmdline.includes('"embedding":true');
    } catch {
      return false;
    }
  });

beforeAll(() => writeTinyGguf(modelFile, { seed: 5 }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('long-term memory with a local GGUF embedding model (memory.embeddings.model_path)', () => {
  const harness = useFakeEngineServer({
    conf: { 'system_config.memory': { enabled: true, embeddings: { model_path: modelFile, context_size: 64, threads: 1, gpu_layers: 0 } } },
  });

  test('every message is embedded by the model process, and a question with no word in common still recalls', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Kiwi is a lovely name.') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created');
    await client.completeTurn('My parrot is called Kiwi.', 1);
    await memoryCaughtUp(harness.server);

    // One model process, loaded for embeddings, a child of the server's process.
    expect(embeddingProcesses()).toHaveLength(1);
    const db = new sqlite.Database(path.join(harness.fixture.root, 'chat_history', CHARACTER, MEMORY_FILE), { readOnly: true });
    try {
      const rows = db.all('SELECT m.content AS content, v.model AS model, length(v.v) AS bytes FROM messages m JOIN vectors v ON v.message_id = m.id ORDER BY m.idx') as Array<{ content: string; model: string; bytes: number }>;
      expect(rows.map((r) => [r.content, r.model])).toEqual([
        ['My parrot is called Kiwi.', 'tiny-embed.gguf'],
        ['Kiwi is a lovely name.', 'tiny-embed.gguf'],
      ]);
      // The tiny model's hidden size, as float32.
      expect(rows[0]!.bytes).toBeGreaterThan(0);
      expect(rows[0]!.bytes % 4).toBe(0);
    } finally {
      db.close();
    }

    client.send({ type: 'create-new-history' });
    await client.next('new-history-created', 2);
    client.send({ type: 'text-input', text: 'Xylophones?', images: [] });
    await client.next('backend-synth-complete', 2);
    // No word of it was ever said: only the nearest vectors can have brought the earlier lines.
    expect(systemText(harness.fake.chatRequests().at(-1)!.body)).toMatch(/Things you remember[\s\S]*(My parrot is called Kiwi\.|Kiwi is a lovely name\.)/);
    await client.close();

    await harness.server.stop();
    expect(await settleTo(() => embeddingProcesses().length, 0, 10_000)).toBe(0);
  });
});
