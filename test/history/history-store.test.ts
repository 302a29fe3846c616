import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { joinDisplayTexts } from '../../src/agent/display-texts.js';
import { newHistoryUid } from '../../src/history/history-stamps.js';
import { memoryFromHistory } from '../../src/history/history-memory.js';
import { HistoryError, HistoryStore } from '../../src/history/history-store.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { killWriterRepeatedly } from '../helpers/history-crash.js';

/** A history file as the Python server writes it. */
const UPSTREAM_FILE = [
  { role: 'metadata', timestamp: '2025-05-01T12:00:00' },
  { role: 'human', timestamp: '2025-05-01T12:00:05', content: 'Hi!', name: 'Human' },
  { role: 'ai', timestamp: '2025-05-01T12:00:09', content: '[joy] Hello there!How are you?', name: 'Mao', avatar: 'mao.png' },
  { role: 'ai', timestamp: '2025-05-01T12:01:00', content: 'Once upon a time', name: 'Mao', avatar: 'mao.png' },
  { role: 'system', timestamp: '2025-05-01T12:01:00', content: '[Interrupted by user]' },
];

describe('HistoryStore: the upstream format, and nothing lost', () => {
  const fixture = makeFixtureRoot();
  const root = path.join(fixture.root, 'chat_history');
  const store = new HistoryStore(root);
  const upstreamUid = '2025-05-01_12-00-00_0123456789abcdef0123456789abcdef';
  afterAll(() => fixture.cleanup());

  beforeAll(() => {
    mkdirSync(path.join(root, 'mao_pro_001'), { recursive: true });
    writeFileSync(path.join(root, 'mao_pro_001', `${upstreamUid}.json`), JSON.stringify(UPSTREAM_FILE, null, 2));
  });

  test('round trip: list, read, append, delete an upstream file; the file stays upstream-shaped', async () => {
    expect(await store.list('mao_pro_001')).toEqual([
      { uid: upstreamUid, latest_message: UPSTREAM_FILE[4], timestamp: '2025-05-01T12:01:00' },
    ]);
    expect(await store.read('mao_pro_001', upstreamUid)).toEqual(UPSTREAM_FILE.slice(1));
    const added = { role: 'human' as const, timestamp: '2025-05-01T12:02:00', content: 'Still there? 你好', name: 'Human' };
    await store.append('mao_pro_001', upstreamUid, [added]);
    const file = JSON.parse(readFileSync(path.join(root, 'mao_pro_001', `${upstreamUid}.json`), 'utf8'));
    expect(file).toEqual([...UPSTREAM_FILE, added]);
    expect(readFileSync(path.join(root, 'mao_pro_001', `${upstreamUid}.json`), 'utf8')).toContain('你好'); // not \\u-escaped
    expect(await store.delete('mao_pro_001', upstreamUid)).toBe(true);
    expect(await store.delete('mao_pro_001', upstreamUid)).toBe(false);
    expect(readdirSync(path.join(root, 'mao_pro_001'))).toEqual([]);
  });

  test('a new history is a uid only (upstream format): no file until its first message', async () => {
    const uid = store.newUid('mao_pro_001');
    expect(uid).toMatch(/^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_[0-9a-f]{32}$/);
    expect(readdirSync(path.join(root, 'mao_pro_001'))).toEqual([]);
    expect(await store.list('mao_pro_001')).toEqual([]);
    await store.append('mao_pro_001', uid, [{ role: 'human', timestamp: '2026-01-01T10:00:00', content: 'first words' }]);
    const content = JSON.parse(readFileSync(path.join(root, 'mao_pro_001', `${uid}.json`), 'utf8'));
    expect(content).toEqual([
      { role: 'metadata', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/) },
      { role: 'human', timestamp: '2026-01-01T10:00:00', content: 'first words' },
    ]);
    expect((await store.list('mao_pro_001')).map((h) => h.uid)).toEqual([uid]);
  });

  test("upstream's empty histories are not listed, and removed only once a day old (U36)", async () => {
    const dir = path.join(root, 'empties');
    mkdirSync(dir, { recursive: true });
    const [fresh, old] = [newHistoryUid(), newHistoryUid()];
    for (const uid of [fresh, old]) writeFileSync(path.join(dir, `${uid}.json`), JSON.stringify([{ role: 'metadata', timestamp: '2026-01-01T10:00:00' }]));
    const dayAgo = (Date.now() - 25 * 3600 * 1000) / 1000;
    utimesSync(path.join(dir, `${old}.json`), dayAgo, dayAgo);
    expect(await store.list('empties')).toEqual([]);
    expect(readdirSync(dir)).toEqual([`${fresh}.json`]);
  });

  test('a damaged file is reported and never overwritten (U37)', async () => {
    const uid = newHistoryUid();
    const file = path.join(root, 'mao_pro_001', `${uid}.json`);
    writeFileSync(file, '[{"role": "metadata"}, {"role": "human", "content": "half writ');
    const append = store.append('mao_pro_001', uid, [{ role: 'human', timestamp: 't', content: 'new' }]);
    await expect(append).rejects.toThrow(HistoryError);
    await expect(append).rejects.toThrow(/damaged.*left untouched/);
    await expect(store.read('mao_pro_001', uid)).rejects.toThrow(/damaged/);
    expect(readFileSync(file, 'utf8')).toBe('[{"role": "metadata"}, {"role": "human", "content": "half writ');
    expect((await store.list('mao_pro_001')).map((h) => h.uid)).not.toContain(uid);
  });

  test('appending to a history that vanished recreates it with its metadata', async () => {
    const uid = newHistoryUid();
    await store.append('mao_pro_001', uid, [{ role: 'human', timestamp: 't', content: 'hello' }]);
    expect(JSON.parse(readFileSync(path.join(root, 'mao_pro_001', `${uid}.json`), 'utf8'))).toEqual([
      { role: 'metadata', timestamp: expect.any(String) },
      { role: 'human', timestamp: 't', content: 'hello' },
    ]);
  });

  test('a file changed by someone else since it was cached is read again before an append', async () => {
    const uid = newHistoryUid();
    await store.append('mao_pro_001', uid, [{ role: 'human', timestamp: 't', content: 'one' }]);
    const file = path.join(root, 'mao_pro_001', `${uid}.json`);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.push({ role: 'ai', timestamp: 't', content: 'added by hand, with more bytes' });
    writeFileSync(file, JSON.stringify(edited));
    await store.append('mao_pro_001', uid, [{ role: 'human', timestamp: 't', content: 'two' }]);
    expect((await store.read('mao_pro_001', uid)).map((m) => m.content)).toEqual(['one', 'added by hand, with more bytes', 'two']);
  });

  test.each([
    ['traversal', '../../conf'],
    ['traversal with a separator', '..%2f..%2fconf'],
    ['an absolute path', '/etc/passwd'],
    ['dots', '..'],
    ['empty', ''],
    ['a NUL byte', 'abc\u0000'],
    ['huge', 'a'.repeat(10_000)],
    ['a backslash', '..\\..\\conf'],
  ])('a bad history_uid (%s) is refused before any path is built', async (_name, uid) => {
    await expect(store.read('mao_pro_001', uid)).rejects.toThrow(/is not a valid history_uid/);
    await expect(store.append('mao_pro_001', uid, [])).rejects.toThrow(/is not a valid history_uid/);
    await expect(store.delete('mao_pro_001', uid)).rejects.toThrow(/is not a valid history_uid/);
  });

  test.each(['..', '.', '../x', 'a/b', 'a\\b', ''])('a conf_uid that is not a plain name (%j) cannot name a folder', async (confUid) => {
    await expect(store.list(confUid)).rejects.toThrow(/cannot name a history folder/);
    expect(() => store.newUid(confUid)).toThrow(/cannot name a history folder/);
  });

  test('the list follows files copied in, replaced or deleted by hand while the store runs', async () => {
    const confUid = 'by_hand';
    const dir = path.join(root, confUid);
    mkdirSync(dir, { recursive: true });
    const mine = store.newUid(confUid);
    await store.append(confUid, mine, [{ role: 'human', timestamp: '2026-01-01T10:00:00', content: 'mine' }]);
    expect((await store.list(confUid)).map((h) => h.uid)).toEqual([mine]);

    const copied = '2026-01-02_10-00-00_0123456789abcdef0123456789abcdef';
    const upstreamShaped = (content: string) => JSON.stringify([{ role: 'metadata', timestamp: 't' }, { role: 'ai', timestamp: '2026-01-02T10:00:00', content }]);
    writeFileSync(path.join(dir, `${copied}.json`), upstreamShaped('copied in'));
    expect((await store.list(confUid)).map((h) => [h.uid, h.latest_message.content])).toEqual([
      [copied, 'copied in'],
      [mine, 'mine'],
    ]);

    // Replaced the way editors save: a new file renamed over the old one.
    writeFileSync(path.join(dir, 'edit.tmp'), upstreamShaped('edited by hand'));
    renameSync(path.join(dir, 'edit.tmp'), path.join(dir, `${copied}.json`));
    expect((await store.list(confUid))[0]!.latest_message.content).toBe('edited by hand');

    unlinkSync(path.join(dir, `${mine}.json`));
    expect((await store.list(confUid)).map((h) => h.uid)).toEqual([copied]);
    // The store's own writes keep the index current without reading the folder again.
    const next = store.newUid(confUid);
    await store.append(confUid, next, [{ role: 'human', timestamp: '2026-01-03T10:00:00', content: 'newest' }]);
    expect((await store.list(confUid)).map((h) => h.uid)).toEqual([next, copied]);
    await store.delete(confUid, copied);
    expect((await store.list(confUid)).map((h) => h.uid)).toEqual([next]);
  });

  test('20 writers appending to one history at once lose nothing', async () => {
    const uid = newHistoryUid();
    const writers = Array.from({ length: 20 }, (_, w) => new HistoryStore(root) && w);
    await Promise.all(
      writers.flatMap((w) =>
        Array.from({ length: 10 }, (_, i) => store.append('mao_pro_001', uid, [{ role: 'human', timestamp: 't', content: `w${w}-${i}` }])),
      ),
    );
    const contents = (await store.read('mao_pro_001', uid)).map((m) => m.content);
    expect(contents).toHaveLength(200);
    expect(new Set(contents).size).toBe(200);
    expect(readdirSync(path.join(root, 'mao_pro_001')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('crash safety: a writer killed with SIGKILL 10 times; the file always parses and holds every acknowledged message', async () => {
    // 200 kills: test/history/history-crash.soak.test.ts (npm run test:soak).
    await killWriterRepeatedly(root, 10);
  }, 60_000);
});

describe('history ⇄ memory', () => {
  test('system entries become what the model sees live, never the assistant\'s words (U38)', () => {
    const messages = UPSTREAM_FILE.slice(1) as Parameters<typeof memoryFromHistory>[0];
    expect(memoryFromHistory(messages, 'system')).toEqual([
      { role: 'user', content: 'Hi!' },
      { role: 'assistant', content: '[joy] Hello there!How are you?' },
      { role: 'assistant', content: 'Once upon a time' },
      { role: 'system', content: '[Interrupted by user]' },
    ]);
    expect(memoryFromHistory(messages, 'user').at(-1)).toEqual({ role: 'user', content: '[Interrupted by user]' });
  });

  test('stored replies join sentences with spaces, but not inside a thought\'s parentheses', () => {
    expect(joinDisplayTexts(['[joy] Hello there!', 'How are you?'])).toBe('[joy] Hello there! How are you?');
    expect(joinDisplayTexts(['(', 'Let me see.', 'Yes.', ')', 'Found it!'])).toBe('(Let me see. Yes.) Found it!');
    // Texts that keep the model's whitespace are put back as written.
    expect(joinDisplayTexts(['Hi! ', "It's nice.\n", '(', 'Hmm. ', ')', 'Bye. '])).toBe("Hi! It's nice.\n(Hmm.) Bye.");
  });
});
