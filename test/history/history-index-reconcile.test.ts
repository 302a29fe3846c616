import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EMPTY_HISTORY_TTL_MS, HistoryIndex, STALE_TEMP_MS } from '../../src/history/history-index.js';
import { FileQueues } from '../../src/history/file-queues.js';
import { HistoryFiles } from '../../src/history/history-files.js';
import { HistoryStore } from '../../src/history/history-store.js';

const uidOf = (n: number) => `2026-01-01_00-00-00_${n.toString(16).padStart(32, '0')}`;
const historyJson = (content: string, second = 0) =>
  JSON.stringify([{ role: 'metadata', timestamp: 't' }, { role: 'human', timestamp: `2026-01-01T00:00:${String(second).padStart(2, '0')}`, content }]);

/** A folder's mtime moved on, as a change by somebody else does (some file systems keep whole seconds). */
const touchFolder = (dir: string) => {
  const later = Date.now() / 1000 + 5;
  utimesSync(dir, later, later);
};

describe('history index: reconciled with the disk only when the folder changed behind its back', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'vas-history-index-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A store whose file reads are counted. */
  const countingStore = () => {
    const store = new HistoryStore(root);
    const reads = jest.spyOn(store['files'], 'read');
    const readUids = () => {
      const uids = reads.mock.calls.map(([file]) => path.basename(file, '.json'));
      reads.mockClear();
      return uids.sort();
    };
    return { store, readUids };
  };

  test('the first look reads every history once; lists after the store\'s own writes read none', async () => {
    const dir = path.join(root, 'conf');
    mkdirSync(dir);
    for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `${uidOf(i)}.json`), historyJson(`old ${i}`, i));
    const { store, readUids } = countingStore();
    expect((await store.list('conf')).map((h) => h.uid)).toEqual([4, 3, 2, 1, 0].map(uidOf));
    expect(readUids()).toEqual([0, 1, 2, 3, 4].map(uidOf));
    await store.append('conf', uidOf(1), [{ role: 'ai', timestamp: '2026-01-01T00:00:09', content: 'new' }]);
    await store.delete('conf', uidOf(3));
    readUids();
    expect((await store.list('conf')).map((h) => h.uid)).toEqual([1, 4, 2, 0].map(uidOf));
    expect(readUids()).toEqual([]);
  });

  test('a change by somebody else: only new and changed files are read, vanished ones dropped', async () => {
    const dir = path.join(root, 'conf');
    mkdirSync(dir);
    for (let i = 0; i < 4; i++) writeFileSync(path.join(dir, `${uidOf(i)}.json`), historyJson(`old ${i}`, i));
    const { store, readUids } = countingStore();
    await store.list('conf');
    readUids();
    writeFileSync(path.join(dir, `${uidOf(1)}.json`), historyJson('edited by hand, longer than before', 30));
    writeFileSync(path.join(dir, `${uidOf(9)}.json`), historyJson('copied in', 20));
    unlinkSync(path.join(dir, `${uidOf(2)}.json`));
    touchFolder(dir);
    expect((await store.list('conf')).map((h) => [h.uid, h.latest_message.content])).toEqual([
      [uidOf(1), 'edited by hand, longer than before'],
      [uidOf(9), 'copied in'],
      [uidOf(3), 'old 3'],
      [uidOf(0), 'old 0'],
    ]);
    expect(readUids()).toEqual([uidOf(1), uidOf(9)]);
  });

  test('a folder removed and made again: the list empties, then follows the new files', async () => {
    const dir = path.join(root, 'conf');
    mkdirSync(dir);
    writeFileSync(path.join(dir, `${uidOf(1)}.json`), historyJson('one'));
    const store = new HistoryStore(root);
    expect(await store.list('conf')).toHaveLength(1);
    rmSync(dir, { recursive: true });
    expect(await store.list('conf')).toEqual([]);
    mkdirSync(dir);
    writeFileSync(path.join(dir, `${uidOf(2)}.json`), historyJson('two'));
    expect((await store.list('conf')).map((h) => h.uid)).toEqual([uidOf(2)]);
  });

  test('the first look removes temporary files a crash left, but not one of a write in progress, here or (in a shared folder) in another instance', async () => {
    const dir = path.join(root, 'conf');
    mkdirSync(dir);
    const left = `.${uidOf(1)}.json.0123456789ab.tmp`;
    const inProgress = `.${uidOf(2)}.json.ba9876543210.tmp`;
    // Another instance sharing the folder is writing this one (recent, not this process's).
    const elsewhere = `.${uidOf(3)}.json.aaaaaaaaaaaa.tmp`;
    for (const name of [left, inProgress, elsewhere, 'notes.tmp']) writeFileSync(path.join(dir, name), '[');
    const old = (Date.now() - STALE_TEMP_MS - 1000) / 1000;
    for (const name of [left, inProgress]) utimesSync(path.join(dir, name), old, old);
    class Files extends HistoryFiles {
      override isWriting(temp: string) {
        return path.basename(temp) === inProgress;
      }
    }
    const files = new Files({ seen: () => undefined, changingFolder: (_dir, change) => change() });
    const index = new HistoryIndex(root, new FileQueues(), files, { staleTempMs: STALE_TEMP_MS });
    expect((await index.listEncoded('conf')).length).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([inProgress, elsewhere, 'notes.tmp'].sort());
  });

  test('empty histories are removed once older than EMPTY_HISTORY_TTL_MS; damaged ones are never removed nor listed', async () => {
    const dir = path.join(root, 'conf');
    mkdirSync(dir);
    writeFileSync(path.join(dir, `${uidOf(1)}.json`), JSON.stringify([{ role: 'metadata', timestamp: 't' }]));
    writeFileSync(path.join(dir, `${uidOf(2)}.json`), '[{"role": "metadata"}, {"ro');
    writeFileSync(path.join(dir, `${uidOf(3)}.json`), historyJson('listed'));
    const store = new HistoryStore(root);
    const now = Date.now();
    expect((await store.list('conf', now + EMPTY_HISTORY_TTL_MS - 60_000)).map((h) => h.uid)).toEqual([uidOf(3)]);
    expect(readdirSync(dir)).toHaveLength(3);
    expect((await store.list('conf', now + EMPTY_HISTORY_TTL_MS + 60_000)).map((h) => h.uid)).toEqual([uidOf(3)]);
    expect(readdirSync(dir).sort()).toEqual([uidOf(2), uidOf(3)].map((uid) => `${uid}.json`));
  });
});
