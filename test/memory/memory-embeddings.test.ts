import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEmbed, normalise, type Embed } from '../../src/memory/memory-embeddings.js';
import { MemoryIndex } from '../../src/memory/memory-index.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { editConf } from '../helpers/engine-config.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';
import { memoryCaughtUp, systemText } from '../helpers/memory.js';

/**
 * memory.embeddings with a stand-in embedding model: each text becomes a vector of the concepts its words belong to,
 * so that "sibling" is near "sister" while sharing no word with it (what an embedding model does, in miniature).
 */
const CONCEPTS: Record<string, number> = { sister: 0, sibling: 0, brother: 0, dog: 1, puppy: 1, pet: 1, job: 2, work: 2, nurse: 2, hospital: 2 };
const conceptVector = (text: string) => {
  const v = [0.01, 0.01, 0.01, 0.01];
  for (const word of text.toLowerCase().match(/\p{L}+/gu) ?? []) if (word in CONCEPTS) v[CONCEPTS[word]!]! += 1;
  return v;
};
const fakeEmbed: Embed = async (texts) => texts.map((t) => normalise(conceptVector(t)));

/** An OpenAI-compatible /v1/embeddings answering with concept vectors (in reverse order, with their index), or failing. */
function embeddingsServer() {
  const state = { fail: false, requests: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      state.requests++;
      if (state.fail || req.url !== '/v1/embeddings') return void res.writeHead(500).end('model not loaded');
      const { input } = JSON.parse(body) as { input: string[] };
      const data = input.map((text, index) => ({ index, embedding: conceptVector(text).map((x) => x * 3) })).reverse();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
    });
  });
  server.listen(0, '127.0.0.1');
  return { server, state, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('memory.embeddings', () => {
  test('recall finds what is meant, fused by rank with the words; deleted messages leave no vector behind', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'memory-embed-'));
    const dir = path.join(root, 'mao');
    mkdirSync(dir);
    const write = (uid: string, messages: string[]) =>
      writeFileSync(path.join(dir, `${uid}.json`), JSON.stringify([{ role: 'metadata', timestamp: '2026-11-01T10:00:00' }, ...messages.map((content) => ({ role: 'human', content, timestamp: '2026-11-01T10:00:01' }))]));
    write('h1', ["My sister's name is Ana.", 'I went shopping for shoes.']);
    write('h2', ['I work as a nurse.', 'The weather was nice.']);
    const index = new MemoryIndex(root);
    try {
      await index.reconcile('mao');
      const signal = new AbortController().signal;
      await index.embedMissing('mao', 'concepts', fakeEmbed, signal);
      const [query] = await fakeEmbed(['Who is my sibling?'], signal);
      expect(index.search('mao', 'Who is my sibling?', 5)).toEqual([]);
      const hits = index.searchHybrid('mao', 'Who is my sibling?', 1, undefined, { model: 'concepts', vector: query! });
      expect(hits.map((h) => [h.history_uid, h.index, h.content])).toEqual([['h1', 1, "My sister's name is Ana."]]);
      rmSync(path.join(dir, 'h1.json'));
      await index.sync('mao', 'h1');
      expect(index.searchHybrid('mao', 'Who is my sibling?', 5, undefined, { model: 'concepts', vector: query! }).map((h) => h.history_uid)).toEqual(['h2', 'h2']);
    } finally {
      index.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('an OpenAI-compatible service: one unit vector per text, in order; a failure is an error naming the answer', async () => {
    const service = embeddingsServer();
    await new Promise((resolve) => service.server.once('listening', resolve));
    try {
      const embed = createEmbed({ base_url: service.url(), model: 'm', api_key: '', timeout_ms: 5000 });
      const [a, b] = await embed(['my sister', 'my dog'], new AbortController().signal);
      expect(Array.from(a!).map((x) => Math.round(x * 100) / 100)).toEqual([1, 0.01, 0.01, 0.01]);
      expect(Array.from(b!)[1]).toBeGreaterThan(0.99);
      service.state.fail = true;
      await expect(embed(['x'], new AbortController().signal)).rejects.toThrow(/500.*model not loaded/);
    } finally {
      service.server.close();
    }
  });
});

describe('memory.embeddings over the socket', () => {
  const service = embeddingsServer();
  const log = recordingLogger();
  const harness = useFakeEngineServer({
    start: { logger: log.logger },
    prepare: (fixture) => editConf(fixture.root, { 'system_config.memory': { enabled: true, embeddings: { base_url: service.url(), model: 'concepts' } } }),
  });
  afterAll(() => service.server.close());

  async function turn(client: TestClient, text: string, n: number) {
    client.send({ type: 'text-input', text, images: [] });
    await client.next('backend-synth-complete', n);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('force-new-message', n);
  }
  const lastSystem = () => systemText(harness.fake.chatRequests().at(-1)!.body);

  test('a question that shares no word with what was said recalls it; a broken service leaves lexical recall, said once', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Noted.') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created');
    await turn(client, 'I have a puppy called Rex.', 1);
    await memoryCaughtUp(harness.server);
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created', 2);
    await turn(client, 'Tell me about my pet.', 2);
    expect(lastSystem()).toMatch(/Human: I have a puppy called Rex\./);

    service.state.fail = true;
    await turn(client, 'What is Rex doing?', 3);
    expect(lastSystem()).toMatch(/Human: I have a puppy called Rex\./);
    await turn(client, 'Does Rex like walks?', 4);
    await memoryCaughtUp(harness.server);
    expect(log.lines.filter((l) => l.includes('could not be embedded'))).toHaveLength(1);
    await client.close();
  });
});
