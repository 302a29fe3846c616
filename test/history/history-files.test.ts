import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileDurably, type FileStamp } from '../../src/history/durable-file.js';
import { FileQueues } from '../../src/history/file-queues.js';
import { HistoryError } from '../../src/history/history-error.js';
import type { HistoryEntry } from '../../src/history/history-format.js';
import { HistoryFiles } from '../../src/history/history-files.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('FileQueues: one file at a time, files side by side', () => {
  test('work on one file runs in order, a failure does not stop the next, and the queue is dropped when empty', async () => {
    const queues = new FileQueues();
    const gate = deferred();
    const done: string[] = [];
    const first = queues.run('a', async () => {
      await gate.promise;
      done.push('a1');
    });
    const failing = queues.run('a', async () => {
      done.push('a2');
      throw new Error('a2 failed');
    });
    const third = queues.run('a', async () => done.push('a3'));
    // Another file does not wait for `a`.
    await queues.run('b', async () => done.push('b1'));
    expect(done).toEqual(['b1']);
    gate.resolve();
    await first;
    await expect(failing).rejects.toThrow('a2 failed');
    await third;
    expect(done).toEqual(['b1', 'a1', 'a2', 'a3']);
    await queues.drain();
    expect(queues.size).toBe(0);
  });

  test('drain waits for work queued while it waits', async () => {
    const queues = new FileQueues();
    const done: string[] = [];
    void queues.run('a', async () => {
      done.push('a');
      void queues.run('b', async () => done.push('b'));
    });
    await queues.drain();
    expect(done).toEqual(['a', 'b']);
  });
});

describe('writeFileDurably and HistoryFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vas-history-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a write replaces the file through a temporary file the caller is told of, inside its folder change', async () => {
    const file = path.join(dir, 'conf', 'one.json');
    const told: Array<[string, boolean]> = [];
    const changes: string[] = [];
    const stamp = await writeFileDurably(file, 'new text', {
      onTempFile: (temp, exists) => told.push([temp, exists]),
      changingFolder: async (folder, change) => {
        changes.push(folder);
        return change();
      },
    });
    expect(readFileSync(file, 'utf8')).toBe('new text');
    const info = statSync(file);
    expect({ size: stamp.size, mtimeMs: stamp.mtimeMs }).toEqual({ size: info.size, mtimeMs: info.mtimeMs });
    expect(changes).toEqual([path.join(dir, 'conf')]);
    expect(told.map(([, exists]) => exists)).toEqual([true, false]);
    expect(path.dirname(told[0]![0])).toBe(path.join(dir, 'conf'));
    expect(readdirSync(path.join(dir, 'conf'))).toEqual(['one.json']);
  });

  test('a write that fails removes its temporary file and leaves what was there', async () => {
    // A folder where the file should be: the rename fails.
    const file = path.join(dir, 'taken.json');
    mkdirSync(file);
    writeFileSync(path.join(file, 'inside'), 'kept');
    await expect(writeFileDurably(file, 'new text')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['taken.json']);
    expect(readFileSync(path.join(file, 'inside'), 'utf8')).toBe('kept');
  });

  const observed = () => {
    const seen: Array<{ file: string; entries: HistoryEntry[]; stamp: FileStamp }> = [];
    const files = new HistoryFiles({ seen: (file, entries, stamp) => seen.push({ file, entries, stamp }), changingFolder: (_dir, change) => change() });
    return { files, seen };
  };

  const codeOf = async (work: Promise<unknown>) => {
    const err = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HistoryError);
    return [(err as HistoryError).code, (err as HistoryError).message];
  };

  test('reading: a missing, unreadable or damaged file fails with its code and a message naming the history', async () => {
    const { files } = observed();
    expect(await codeOf(files.read(path.join(dir, 'gone.json')))).toEqual(['history_not_found', 'history gone does not exist']);
    mkdirSync(path.join(dir, 'folder.json'));
    expect(await codeOf(files.read(path.join(dir, 'folder.json')))).toEqual(['history_unreadable', 'history folder cannot be read (EISDIR)']);
    writeFileSync(path.join(dir, 'half.json'), '[{"role": "metadata"}, {"ro');
    expect(await codeOf(files.read(path.join(dir, 'half.json')))).toEqual(['history_damaged', 'history half is damaged (not valid JSON); it was left untouched']);
    writeFileSync(path.join(dir, 'object.json'), '{"role": "metadata"}');
    expect(await codeOf(files.read(path.join(dir, 'object.json')))).toEqual(['history_damaged', 'history object is damaged (not a JSON array); it was left untouched']);
  });

  test('the observer sees every read and write with the file\'s stamp; a write is upstream-shaped JSON', async () => {
    const { files, seen } = observed();
    const file = path.join(dir, 'conf', 'h1.json');
    const entries: HistoryEntry[] = [{ role: 'metadata', timestamp: 't' }, { role: 'human', timestamp: 't', content: '你好' }];
    await files.write(file, entries);
    expect(readFileSync(file, 'utf8')).toBe(JSON.stringify(entries, null, 2));
    expect(await files.read(file)).toEqual(entries);
    expect(files.writesInProgress).toBe(0);
    const { size, mtimeMs } = statSync(file);
    expect(seen.map((s) => [s.file, s.entries, s.stamp.size, s.stamp.mtimeMs])).toEqual([[file, entries, size, mtimeMs]]);
    // Changed by someone else: read again, and seen again.
    writeFileSync(file, JSON.stringify([...entries, { role: 'ai', timestamp: 't', content: 'by hand' }]));
    expect(await files.read(file)).toHaveLength(3);
    expect(seen).toHaveLength(2);
  });
});
