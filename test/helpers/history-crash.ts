import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { newHistoryUid } from '../../src/history/history-stamps.js';
import { HistoryStore } from '../../src/history/history-store.js';
import { compiledFile } from './compiled-sources.js';

/**
 * Crash safety of the history store: a writer process (test/helpers/history-child.ts) appends to one history and is
 * killed with SIGKILL `kills` times, each at a random moment after it started writing. After every kill the file
 * must parse and hold every message the writer acknowledged, in order; no temporary file is left beside it.
 */
export async function killWriterRepeatedly(root: string, kills: number): Promise<void> {
  const uid = newHistoryUid();
  const file = path.join(root, 'crash', `${uid}.json`);
  const program = compiledFile('test/helpers/history-child.ts');
  let acknowledged = 0;
  let next = 0;
  for (let kill = 0; kill < kills; kill++) {
    const child = spawn(process.execPath, [program, root, 'crash', uid, String(next)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const writing = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        resolve();
      });
      child.once('exit', () => resolve());
    });
    // Once it writes, kill it at a random moment within the next few appends (each is a write, fsync and rename).
    await writing;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 25));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const acks = [...out.matchAll(/ack (\d+)/g)].map((m) => Number(m[1]));
    if (acks.length > 0) acknowledged = Math.max(acknowledged, acks[acks.length - 1]! + 1);
    let onDisk: number[] = [];
    try {
      const entries = JSON.parse(readFileSync(file, 'utf8')) as Array<{ content?: string }>;
      onDisk = entries.slice(1).map((e) => Number(e.content!.split(' ')[1]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // must always parse
    }
    for (let n = 0; n < acknowledged; n++) expect(onDisk[n]).toBe(n);
    next = onDisk.length; // the next writer continues the numbering
  }
  // Every writer acknowledged at least one append before it was killed.
  expect(acknowledged).toBeGreaterThanOrEqual(kills);
  expect(readdirSync(path.join(root, 'crash')).filter((f) => !f.startsWith('.'))).toEqual([`${uid}.json`]);
  // Writes cut short leave temporary files; the next store to open the folder removes them (and nothing else).
  await new HistoryStore(root).list('crash');
  expect(readdirSync(path.join(root, 'crash'))).toEqual([`${uid}.json`]);
}
