import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryIndex, MEMORY_FILE } from '../../src/memory/memory-index.js';
import { HistoryStore } from '../../src/history/history-store.js';
import sqlite from 'node-sqlite3-wasm';

function history(dir: string, uid: string, messages: { role: string; content: string; timestamp?: string }[]) {
  const entries = [{ role: 'metadata', timestamp: '2026-11-01T10:00:00' }, ...messages.map((m) => ({ timestamp: '2026-11-01T10:00:01', ...m }))];
  writeFileSync(path.join(dir, `${uid}.json`), JSON.stringify(entries, null, 2));
}

describe('MemoryIndex', () => {
  let root: string;
  let dir: string;
  let index: MemoryIndex;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'memory-'));
    dir = path.join(root, 'mao');
    mkdirSync(dir);
    index = new MemoryIndex(root);
  });
  afterEach(() => {
    index.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('indexes a folder and finds a message by its words, with its place in the file', async () => {
    history(dir, 'h1', [{ role: 'human', content: "my sister's name is Ana" }, { role: 'ai', content: 'What a lovely name!' }]);
    history(dir, 'h2', [{ role: 'human', content: 'I like trains' }]);
    await index.reconcile('mao');
    const hits = index.search('mao', 'what is my sister called?', 5);
    expect(hits.map((h) => [h.history_uid, h.index, h.role, h.content])).toEqual([['h1', 1, 'human', "my sister's name is Ana"]]);
    expect(hits[0]!.score).toBeGreaterThan(0);
    expect(index.search('mao', 'sisters', 5, 'h1')).toEqual([]);
  });

  it('keeps its file beside the histories, where the history store neither lists nor removes it', async () => {
    const store = new HistoryStore(root);
    await store.append('mao', 'h1', [{ role: 'human', content: 'hello there', timestamp: '2026-11-01T10:00:00' }]);
    await index.reconcile('mao');
    expect(readdirSync(dir)).toContain(MEMORY_FILE);
    expect((await store.list('mao')).map((h) => h.uid)).toEqual(['h1']);
    expect(readdirSync(dir)).toContain(MEMORY_FILE);
  });

  it('follows appends, edits and deletions of the files', async () => {
    history(dir, 'h1', [{ role: 'human', content: 'the cat is called Tom' }]);
    await index.reconcile('mao');
    history(dir, 'h1', [{ role: 'human', content: 'the cat is called Tom' }, { role: 'ai', content: 'Tom the cat, noted' }]);
    await index.sync('mao', 'h1');
    expect(index.search('mao', 'cat', 5).map((h) => h.index).sort()).toEqual([1, 2]);
    history(dir, 'h1', [{ role: 'human', content: 'the dog is called Rex' }]);
    await index.sync('mao', 'h1');
    expect(index.search('mao', 'cat', 5)).toEqual([]);
    expect(index.search('mao', 'dog', 5).map((h) => h.content)).toEqual(['the dog is called Rex']);
    rmSync(path.join(dir, 'h1.json'));
    await index.sync('mao', 'h1');
    expect(index.count('mao')).toBe(0);
  });

  it('keeps in its file how many messages hold each word, through appends, edits, deletions and forgetting', async () => {
    const counts = () => {
      index.close();
      const db = new sqlite.Database(path.join(dir, MEMORY_FILE), { readOnly: true });
      try {
        // Terms as the full-text index keeps them (stemmed: "called" is "call"); a few words followed.
        const rows = db.all("SELECT term, n FROM term_docs WHERE term IN ('cat', 'call', 'tom', 'sleep', 'dog', 'rex') ORDER BY term") as { term: string; n: number }[];
        return Object.fromEntries(rows.map((r) => [r.term, r.n]));
      } finally {
        db.close();
        index = new MemoryIndex(root);
      }
    };
    history(dir, 'h1', [{ role: 'human', content: 'the cat is called Tom' }, { role: 'ai', content: 'Tom the cat, Tom!' }]);
    history(dir, 'h2', [{ role: 'human', content: 'my cat sleeps' }]);
    await index.reconcile('mao');
    expect(counts()).toEqual({ cat: 3, call: 1, sleep: 1, tom: 2 });
    history(dir, 'h1', [{ role: 'human', content: 'the dog is called Rex' }]);
    await index.reconcile('mao');
    expect(counts()).toEqual({ cat: 1, call: 1, dog: 1, rex: 1, sleep: 1 });
    index.forgetByUser('mao', 'h2', 1);
    expect(counts()).toEqual({ call: 1, dog: 1, rex: 1 });
    rmSync(path.join(dir, 'h1.json'));
    await index.reconcile('mao');
    expect(counts()).toEqual({});
  });

  it('reconciles at its first job what changed while it was closed', async () => {
    history(dir, 'h1', [{ role: 'human', content: 'I was born in Lyon' }]);
    await index.reconcile('mao');
    index.close();
    rmSync(path.join(dir, 'h1.json'));
    history(dir, 'h2', [{ role: 'human', content: 'I moved to Lyon last year' }]);
    index = new MemoryIndex(root);
    await index.sync('mao', 'h2');
    expect(index.search('mao', 'Lyon', 5).map((h) => h.history_uid)).toEqual(['h2']);
  });

  it('is rebuilt from the histories when its file is damaged', async () => {
    history(dir, 'h1', [{ role: 'human', content: 'my favourite colour is green' }]);
    await index.reconcile('mao');
    index.close();
    const file = path.join(dir, MEMORY_FILE);
    const bytes = readFileSync(file);
    bytes.fill(0x42, 0, 100);
    writeFileSync(file, bytes);
    index = new MemoryIndex(root);
    expect(index.search('mao', 'colour', 5)).toEqual([]);
    await index.sync('mao', 'h1');
    expect(index.search('mao', 'colour', 5).map((h) => h.content)).toEqual(['my favourite colour is green']);
  });

  it('recalls a line said many times once, and leaves the current history out', async () => {
    for (const uid of ['h1', 'h2', 'h3']) history(dir, uid, [{ role: 'human', content: 'Good morning!' }, { role: 'human', content: `morning run number ${uid}` }]);
    await index.reconcile('mao');
    const hits = index.search('mao', 'morning', 10, 'h3');
    expect(hits.filter((h) => h.content === 'Good morning!')).toHaveLength(1);
    expect(hits.map((h) => h.content).sort()).toEqual(['Good morning!', 'morning run number h1', 'morning run number h2']);
  });

  it('forgets what the user tells it to, and it stays forgotten when the file is read again', async () => {
    history(dir, 'h1', [{ role: 'human', content: 'my password hint is tulip' }, { role: 'human', content: 'I like tulip fields' }]);
    history(dir, 'h2', [{ role: 'human', content: 'tulip bulbs in autumn' }]);
    await index.reconcile('mao');
    expect(index.conversations('mao').map((c) => [c.history_uid, c.messages])).toEqual(expect.arrayContaining([['h1', 2], ['h2', 1]]));
    expect(index.forgetByUser('mao', 'h1', 1)).toBe(1);
    expect(index.forgetByUser('mao', 'h2')).toBe(1);
    history(dir, 'h1', [{ role: 'human', content: 'my password hint is tulip' }, { role: 'human', content: 'I like tulip fields' }, { role: 'human', content: 'tulip again' }]);
    history(dir, 'h2', [{ role: 'human', content: 'tulip bulbs in autumn' }, { role: 'human', content: 'more tulip' }]);
    await index.sync('mao', 'h1');
    await index.sync('mao', 'h2');
    expect(index.messages('mao', 'h1').map((m) => m.index)).toEqual([2, 3]);
    expect(index.messages('mao', 'h2')).toEqual([]);
    expect(index.search('mao', 'tulip', 10).map((h) => h.content).sort()).toEqual(['I like tulip fields', 'tulip again']);
    expect(index.characters()).toEqual([{ conf_uid: 'mao', messages: 2 }]);
  });

  it('in a large index, ranks about 1/64 of the messages at most: the rarest words first, then what holds every word, then the latest', async () => {
    // 1,200 messages: the bound is 256. "dog" and "walk" are each in 400, "biscuit" in 2.
    const filler = Array.from({ length: 400 }, (_, i) => [
      { role: 'human', content: `the dog barked at number ${i}` },
      { role: 'human', content: `a long walk number ${i}` },
      { role: 'ai', content: `weather report number ${i}` },
    ]).flat();
    history(dir, 'h1', [{ role: 'human', content: 'My dog Biscuit loves his walk' }, ...filler, { role: 'human', content: 'Biscuit chewed a shoe' }]);
    await index.reconcile('mao');
    // A rare word leads: only the messages holding it are ranked, by it alone ("dog" left out: the shorter line first).
    expect(index.search('mao', 'is Biscuit a good dog?', 5).map((h) => h.content)).toEqual(['Biscuit chewed a shoe', 'My dog Biscuit loves his walk']);
    // Every word common: the messages holding all of them.
    expect(index.search('mao', 'my dog and our walk', 5).map((h) => h.content)).toEqual(['My dog Biscuit loves his walk']);
    // One common word alone: its latest 256 messages are ranked, so the first ones are not among them.
    const latest = index.search('mao', 'dog', 100).map((h) => Number(/number (\d+)/.exec(h.content)?.[1] ?? -1));
    expect(latest).toHaveLength(100);
    expect(Math.min(...latest)).toBeGreaterThanOrEqual(400 - 256);
  });

  it('skips a damaged history and answers nothing for an unknown character', async () => {
    writeFileSync(path.join(dir, 'bad.json'), '[{"role":');
    history(dir, 'h1', [{ role: 'human', content: 'pizza on fridays' }]);
    await index.reconcile('mao');
    expect(index.search('mao', 'pizza', 5)).toHaveLength(1);
    expect(index.search('nobody', 'pizza', 5)).toEqual([]);
    expect(readdirSync(root)).toEqual(['mao']);
  });
});
