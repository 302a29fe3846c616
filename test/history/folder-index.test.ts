import fc from 'fast-check';
import { FolderIndex, type ListPreview } from '../../src/history/folder-index.js';
import type { HistoryEntry, HistoryListEntry } from '../../src/history/history-format.js';
import { damagedRecord, summarize } from '../../src/history/history-records.js';

const uidOf = (n: number) => `2026-01-01_00-00-00_${n.toString(16).padStart(32, '0')}`;
const LOUD: ListPreview = { key: 'loud', shown: (m) => ({ ...m, content: m.content.toUpperCase() }) };

/** What one file holds, as the index is told it. */
type FileState = { kind: 'listed'; second: number; content: string } | { kind: 'empty' } | { kind: 'damaged' } | { kind: 'gone' };

/** A file's stamp: each write of a file gives it a new one (a record with an unchanged stamp is a file read again). */
let writes = 0;
function summaryOf(state: FileState, stamp = { size: 10, mtimeMs: ++writes }) {
  if (state.kind === 'gone') return undefined;
  if (state.kind === 'damaged') return { record: damagedRecord(stamp) };
  const entries: HistoryEntry[] = [{ role: 'metadata', timestamp: 't' }];
  if (state.kind === 'listed') entries.push({ role: 'human', timestamp: `2026-01-01T00:00:0${state.second}`, content: state.content });
  return summarize(entries, stamp);
}

const fileState: fc.Arbitrary<FileState> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('listed' as const), second: fc.integer({ min: 0, max: 3 }), content: fc.string({ maxLength: 8 }) }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'empty' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'damaged' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'gone' as const }), weight: 1 },
);

describe('FolderIndex: records, list order and shown lists kept in step', () => {
  test('after any puts, the order and every shown list equal ones made afresh from the same files', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fileState), { minLength: 1, maxLength: 40, size: 'max' }), (puts) => {
        const folder = new FolderIndex(0);
        const files = new Map<number, FileState>();
        const latest = (n: number) => summaryOf(files.get(n)!)!.latest!;
        const stamps = new Map<number, { size: number; mtimeMs: number }>();
        folder.order();
        folder.addShown(undefined, () => '');
        folder.addShown(LOUD, () => '');
        for (const [n, state] of puts) {
          files.set(n, state);
          stamps.set(n, { size: 10, mtimeMs: ++writes });
          folder.put(uidOf(n), summaryOf(state, stamps.get(n)));
        }
        // Newest first, the larger uid first at the same second.
        const expected = [...files]
          .filter(([, s]) => s.kind === 'listed')
          .map(([n, s]) => ({ n, key: `${(s as { second: number }).second}|${uidOf(n)}` }))
          .sort((a, b) => (a.key < b.key ? 1 : -1))
          .map(({ n }) => n);
        expect(folder.order()).toEqual(expected.map(uidOf));
        expect([...folder.empty].sort()).toEqual([...files].filter(([, s]) => s.kind === 'empty').map(([n]) => uidOf(n)).sort());
        const fresh = new FolderIndex(0);
        for (const [n, state] of files) fresh.put(uidOf(n), summaryOf(state, stamps.get(n)));
        for (const preview of [undefined, LOUD]) {
          fresh.addShown(preview, (uid) => latest(expected[fresh.order().indexOf(uid)]!));
          const kept = folder.use(preview?.key ?? '')!.entries.encoded();
          expect(kept.text).toBe(fresh.use(preview?.key ?? '')!.entries.encoded().text);
          expect((kept.toJSON() as HistoryListEntry[]).map((h) => h.latest_message.content)).toEqual(
            expected.map((n) => (files.get(n) as { content: string }).content).map((c) => (preview ? c.toUpperCase() : c)),
          );
        }
      }),
      { numRuns: 100 },
    );
  });

  test('clear: nothing recorded, every list empty; the least recently used of three ways of showing is dropped', () => {
    const folder = new FolderIndex(0);
    folder.put(uidOf(1), summaryOf({ kind: 'listed', second: 1, content: 'a' }));
    folder.put(uidOf(2), summaryOf({ kind: 'empty' }));
    folder.order();
    for (const key of ['x', 'y', 'z']) folder.addShown({ key, shown: (m) => m }, () => summaryOf({ kind: 'listed', second: 1, content: 'a' })!.latest!);
    expect(folder.use('x')).toBeUndefined();
    expect(folder.use('y')!.entries.length).toBe(1);
    folder.clear();
    expect([folder.files.size, folder.empty.size, folder.order()]).toEqual([0, 0, []]);
    expect(folder.use('z')!.entries.encoded().text).toBe('[]');
  });
});
