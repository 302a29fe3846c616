import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import { webToolCacheMachine } from '../../machines/web-tool-cache.machine.js';
import type { CacheFolderCommand, CacheSettings } from '../../machines/web-tool-contract.js';

/**
 * machines/web-tool-cache.machine.ts alone on a simulated clock: files are announced as the web tool announces them
 * (`cache.added`), and a fake `cacheFolder` records when it starts, what it is told to delete, and when it stops.
 * (Emptying the folder at start and stop is the slot's own work, src/web-tool/cache-folder-actor.ts; the keeper's
 * part is to run the slot for exactly as long as it runs itself.)
 */

const SETTINGS: CacheSettings = { lifetimeMs: 600_000, maxFiles: 3, maxBytes: 1000 };

function cacheKeeper(settings: CacheSettings = SETTINGS) {
  const clock = new SimulatedClock();
  const folder: string[] = [];
  const machine = webToolCacheMachine.provide({
    actors: {
      cacheFolder: fromCallback<CacheFolderCommand, void, EventObject>(({ receive }) => {
        folder.push('start');
        receive((command) => void folder.push(`delete ${command.name}`));
        return () => void folder.push('stop');
      }),
    },
  });
  const actor = createActor(machine, { input: settings, clock }).start();
  const add = (...files: Array<[string, number]>) => {
    for (const [name, bytes] of files) actor.send({ type: 'cache.added', name, bytes });
  };
  return { actor, clock, folder, add };
}

describe('webToolCache: each file kept for its lifetime', () => {
  test('the folder slot runs from the keeper\'s start to its stop; nothing is deleted before a file is added', () => {
    const c = cacheKeeper();
    expect(c.folder).toEqual(['start']);
    c.clock.increment(SETTINGS.lifetimeMs * 2);
    c.actor.stop();
    expect(c.folder).toEqual(['start', 'stop']);
  });

  test('a file is deleted lifetimeMs after it was added, once', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 10]);
    c.clock.increment(SETTINGS.lifetimeMs - 1);
    expect(c.folder).toEqual(['start']);
    c.clock.increment(1);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    c.clock.increment(SETTINGS.lifetimeMs * 2);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
  });

  test('each file keeps its own time, counted from when it was added', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 10]);
    c.clock.increment(100_000);
    c.add(['b.wav', 10]);
    c.clock.increment(SETTINGS.lifetimeMs - 100_000);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    c.clock.increment(100_000 - 1);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    c.clock.increment(1);
    expect(c.folder).toEqual(['start', 'delete a.wav', 'delete b.wav']);
  });

  test('stopped with files still kept: the slot stops (and empties the folder), no timer deletes anything after', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 10], ['b.wav', 10]);
    c.actor.stop();
    c.clock.increment(SETTINGS.lifetimeMs);
    expect(c.folder).toEqual(['start', 'stop']);
  });
});

describe('webToolCache: sooner past the count and byte bounds, oldest first', () => {
  test('at maxFiles all are kept; one more and the oldest goes at once, its timer with it; the others keep their time', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 1], ['b.wav', 1], ['c.wav', 1]);
    expect(c.folder).toEqual(['start']);
    c.add(['d.wav', 1]);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    c.clock.increment(SETTINGS.lifetimeMs);
    expect(c.folder).toEqual(['start', 'delete a.wav', 'delete b.wav', 'delete c.wav', 'delete d.wav']);
  });

  test('at maxBytes all are kept; past it the oldest go until the rest fit', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 300], ['b.wav', 300], ['c.wav', 400]);
    expect(c.folder).toEqual(['start']);
    c.add(['d.wav', 1]);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    c.add(['e.wav', 600]);
    expect(c.folder).toEqual(['start', 'delete a.wav', 'delete b.wav', 'delete c.wav']);
  });

  test('a file over the byte bound alone is still kept for its client, until its lifetime or the next file', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 400], ['huge.wav', 5000]);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    c.clock.increment(SETTINGS.lifetimeMs);
    expect(c.folder).toEqual(['start', 'delete a.wav', 'delete huge.wav']);

    const d = cacheKeeper();
    d.add(['huge.wav', 5000], ['b.wav', 10]);
    expect(d.folder).toEqual(['start', 'delete huge.wav']);
  });

  test('a file deleted for its lifetime frees its count and its bytes', () => {
    const c = cacheKeeper();
    c.add(['a.wav', 900]);
    c.clock.increment(300_000);
    c.add(['b.wav', 50], ['c.wav', 50]);
    c.clock.increment(300_000);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
    // Had a.wav still counted, d.wav would make four files and 1900 bytes.
    c.add(['d.wav', 900]);
    expect(c.folder).toEqual(['start', 'delete a.wav']);
  });
});
