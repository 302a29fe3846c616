import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { stripEmotionTags } from '../../src/agent/expressions.js';
import type { HistoryMessage } from '../../src/history/history-format.js';
import { HistoryStore, type HistorySummary, type ListPreview } from '../../src/history/history-store.js';
import { EncodedJsonArray } from '../../src/protocol/encoded-json.js';
import { encodeServerFrame } from '../../src/protocol/server-frame-encoding.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';

const HIDDEN = { joy: 3 };
const PREVIEW: ListPreview = {
  key: 'joy',
  shown: (m: HistoryMessage) => (m.role === 'ai' ? { ...m, content: stripEmotionTags(m.content, HIDDEN) } : m),
};
const OTHER_PREVIEW: ListPreview = { key: 'other', shown: (m) => ({ ...m, content: m.content.toUpperCase() }) };

/** The frame as it goes on the wire, put together as a client receives it (fragments or not). */
const wireText = (histories: EncodedJsonArray) => {
  const data = encodeServerFrame({ type: 'history-list', histories });
  return Array.isArray(data) ? Buffer.concat(data).toString('utf8') : String(data);
};

const uidOf = (n: number) => `2026-01-01_00-00-00_${n.toString(16).padStart(32, '0')}`;

type Step =
  | { kind: 'append'; n: number; second: number; role: 'human' | 'ai'; tagged: boolean }
  | { kind: 'delete'; n: number }
  | { kind: 'list'; preview: 0 | 1 | 2 };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      n: fc.integer({ min: 0, max: 7 }),
      // Few distinct timestamps: entries at the same second are ordered by uid.
      second: fc.integer({ min: 0, max: 3 }),
      role: fc.constantFrom('human' as const, 'ai' as const),
      tagged: fc.boolean(),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), n: fc.integer({ min: 0, max: 7 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('list' as const), preview: fc.constantFrom(0 as const, 1 as const, 2 as const) }), weight: 3 },
);

describe('history index: the encoded list kept in step with the store', () => {
  const fixture = makeFixtureRoot();
  const root = path.join(fixture.root, 'chat_history');
  afterAll(() => fixture.cleanup());

  test('after any sequence of appends, deletes and lists, every list equals one built from the files by a new store', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const confUid = `run${run++}`;
        const store = new HistoryStore(root);
        const previews = [undefined, PREVIEW, OTHER_PREVIEW];
        const check = async (preview: ListPreview | undefined) => {
          const encoded = await store.listEncoded(confUid, { preview });
          const listed = JSON.parse(encoded.text) as HistorySummary[];
          expect(wireText(encoded)).toBe(`{"type":"history-list","histories":${encoded.text}}`);
          const fresh = JSON.parse((await new HistoryStore(root).listEncoded(confUid, { preview })).text) as HistorySummary[];
          expect(listed).toEqual(fresh);
          // Newest first, the larger uid first at the same timestamp.
          const order = listed.map((h) => `${h.timestamp}|${h.uid}`);
          expect(order).toEqual([...order].sort().reverse());
        };
        for (const s of steps) {
          if (s.kind === 'append') {
            const content = s.tagged ? `[joy] message at ${s.second}` : `message at ${s.second}`;
            await store.append(confUid, uidOf(s.n), [{ role: s.role, timestamp: `2026-01-01T00:00:0${s.second}`, content }]);
          } else if (s.kind === 'delete') {
            await store.delete(confUid, uidOf(s.n));
          } else {
            await check(previews[s.preview]);
          }
        }
        for (const preview of previews) await check(preview);
        await store.flush();
        // Nothing is left behind by finished operations.
        expect(store['queues'].size).toBe(0);
        expect(store['files'].writesInProgress).toBe(0);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  test('an empty history is not listed until its first message, and a damaged one never; previews hide emotion tags', async () => {
    const confUid = 'mixed';
    const dir = path.join(root, confUid);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${uidOf(1)}.json`), JSON.stringify([{ role: 'metadata', timestamp: '2026-01-01T00:00:00' }]));
    writeFileSync(path.join(dir, `${uidOf(2)}.json`), '[{"role": "metadata"}, {"role": "hum');
    const store = new HistoryStore(root);
    expect(await store.list(confUid)).toEqual([]);
    expect((await store.listEncoded(confUid, { preview: PREVIEW })).length).toBe(0);
    await store.append(confUid, uidOf(1), [{ role: 'ai', timestamp: '2026-01-01T00:00:05', content: '[joy] Hello!', name: 'Mao' }]);
    const shown = JSON.parse((await store.listEncoded(confUid, { preview: PREVIEW })).text) as HistorySummary[];
    expect(shown).toEqual([
      { uid: uidOf(1), latest_message: { role: 'ai', timestamp: '2026-01-01T00:00:05', content: 'Hello!', name: 'Mao' }, timestamp: '2026-01-01T00:00:05' },
    ]);
    expect((await store.list(confUid))[0]!.latest_message.content).toBe('[joy] Hello!');
  });

  test('lists asked for at once in new ways (files read again) while histories are written all end equal to a fresh store', async () => {
    const confUid = 'at_once';
    const dir = path.join(root, confUid);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 60; i++) {
      const stamp = `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}`;
      writeFileSync(path.join(dir, `${uidOf(i)}.json`), JSON.stringify([{ role: 'metadata', timestamp: stamp }, { role: 'ai', timestamp: stamp, content: `[joy] reply ${i}` }]));
    }
    const store = new HistoryStore(root);
    const append = (n: number, second: number) =>
      store.append(confUid, uidOf(n), [{ role: 'ai', timestamp: `2026-01-01T00:00:${String(second).padStart(2, '0')}`, content: `[joy] new ${n}` }]);
    // The first look, two new ways of showing (the second and third make their lists from the files), and writes.
    await Promise.all([
      store.listEncoded(confUid),
      append(70, 1),
      store.listEncoded(confUid, { preview: PREVIEW }),
      append(3, 2),
      store.delete(confUid, uidOf(5)),
      store.listEncoded(confUid, { preview: OTHER_PREVIEW }),
      append(71, 3),
      store.listEncoded(confUid, { preview: PREVIEW }),
    ]);
    for (const preview of [OTHER_PREVIEW, PREVIEW, undefined]) {
      const listed = (await store.listEncoded(confUid, { preview })).text;
      expect(listed).toBe((await new HistoryStore(root).listEncoded(confUid, { preview })).text);
    }
    expect((JSON.parse((await store.listEncoded(confUid, { preview: PREVIEW })).text) as HistorySummary[]).slice(0, 3).map((h) => h.latest_message.content)).toEqual([
      'new 71',
      'new 3',
      'new 70',
    ]);
  });

  test('a big list is kept in chunks: after two hundred moves and deletes it still equals one built from the files', async () => {
    const confUid = 'big';
    const dir = path.join(root, confUid);
    mkdirSync(dir, { recursive: true });
    // Entries of ~4 kB: chunks of ~64 kB hold ~16, so moves to the front split chunks and deletes join them.
    const long = (i: number) => `${'a long reply '.repeat(300)}#${i}`;
    for (let i = 0; i < 300; i++) {
      const stamp = `2025-01-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
      writeFileSync(path.join(dir, `${uidOf(i)}.json`), JSON.stringify([{ role: 'metadata', timestamp: stamp }, { role: 'ai', timestamp: stamp, content: long(i) }]));
    }
    const store = new HistoryStore(root);
    const check = async () => {
      const encoded = await store.listEncoded(confUid, { preview: PREVIEW });
      const fresh = await new HistoryStore(root).listEncoded(confUid, { preview: PREVIEW });
      expect(encoded.text).toBe(fresh.text);
      expect(wireText(encoded)).toBe(`{"type":"history-list","histories":${fresh.text}}`);
      // A big list goes out in fragments, a small one as one frame.
      expect(Array.isArray(encodeServerFrame({ type: 'history-list', histories: encoded }))).toBe(encoded.byteLength >= 64 * 1024);
      return encoded;
    };
    expect((await check()).parts.length).toBeGreaterThan(5);
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    for (let step = 0; step < 200; step++) {
      const n = random(300);
      if (random(4) === 0) await store.delete(confUid, uidOf(n));
      else {
        // A new message moves a history to the front, or (an old timestamp) somewhere in the middle.
        const stamp = random(2) ? `2026-01-01T00:00:${String(step % 60).padStart(2, '0')}` : `2025-01-01T00:0${random(5)}:00`;
        await store.append(confUid, uidOf(n), [{ role: 'ai', timestamp: stamp, content: random(3) ? long(step) : 'short' }]);
      }
      if (step % 20 === 19) await check();
    }
    await check();
  }, 60_000);

  test('a list is sent as the index keeps it: the same parts until something changes, one frame when small', async () => {
    const store = new HistoryStore(root);
    await store.append('frames', uidOf(1), [{ role: 'human', timestamp: '2026-01-01T00:00:01', content: 'first' }]);
    const first = await store.listEncoded('frames');
    const again = await store.listEncoded('frames');
    expect(again.parts).toEqual(first.parts);
    // The same memory, not copies.
    again.parts.forEach((part, i) => expect([part.buffer, part.byteOffset]).toEqual([first.parts[i]!.buffer, first.parts[i]!.byteOffset]));
    expect(JSON.parse(String(encodeServerFrame({ type: 'history-list', histories: first })))).toEqual({ type: 'history-list', histories: JSON.parse(first.text) });
    await store.append('frames', uidOf(2), [{ role: 'human', timestamp: '2026-01-01T00:00:02', content: 'second' }]);
    const second = await store.listEncoded('frames');
    expect((JSON.parse(first.text) as HistorySummary[]).map((h) => h.uid)).toEqual([uidOf(1)]); // what was sent is never changed
    expect((JSON.parse(second.text) as HistorySummary[]).map((h) => h.uid)).toEqual([uidOf(2), uidOf(1)]);
  });

  test('memory: 5,000 more histories in the index cost under 400 bytes of heap each after GC (about 265; was about 1,060)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const confUid = 'memory';
    const dir = path.join(root, confUid);
    mkdirSync(dir, { recursive: true });
    const write = (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        const stamp = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString().slice(0, 19);
        writeFileSync(
          path.join(dir, `${uidOf(i)}.json`),
          JSON.stringify([
            { role: 'metadata', timestamp: stamp },
            { role: 'human', timestamp: stamp, content: `hello q${i}, how is the weather?`, name: 'Human' },
            { role: 'ai', timestamp: stamp, content: `[joy] sure q${i} it is sunny. we could go for a walk. the park is lovely now.`, name: 'Mao', avatar: 'mao.png' },
          ]),
        );
      }
    };
    write(0, 100);
    const store = new HistoryStore(root);
    await store.listEncoded(confUid, { preview: PREVIEW });
    const before = heap();
    write(100, 5000);
    expect((await store.listEncoded(confUid, { preview: PREVIEW })).length).toBe(5100);
    const perHistory = (heap() - before) / 5000;
    expect(perHistory).toBeLessThan(400);
  }, 60_000);
});
