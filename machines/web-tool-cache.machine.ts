import { enqueueActions, fromCallback, setup, type EventObject } from 'xstate';
import type { CacheAdded, CacheFolderCommand, CacheSettings } from './web-tool-contract.js';

/**
 * The audio files `/tts-ws` writes for its clients to fetch (`/cache/<name>`), kept for a bounded time and within a
 * bounded count and size: each file is deleted `lifetimeMs` after it was written, or sooner when newer ones push the
 * folder past `maxFiles` or `maxBytes` (oldest first). The deletions themselves are done by the `cacheFolder` child,
 * which also empties the folder of earlier runs' files when it starts and of this run's when it stops.
 */

export interface CacheFile {
  name: string;
  bytes: number;
}

interface CacheContext {
  settings: CacheSettings;
  /** Oldest first. */
  files: CacheFile[];
  bytes: number;
}

type CacheEvent = CacheAdded | { type: 'cache.expired'; name: string };

const timerId = (name: string) => `expire:${name}`;

export const webToolCacheMachine = setup({
  types: {
    context: {} as CacheContext,
    events: {} as CacheEvent,
    input: {} as CacheSettings,
  },
  actors: {
    /** Owns the folder: deletes what it is told to (`cacheFolder.delete`). */
    cacheFolder: fromCallback<CacheFolderCommand, void, EventObject>(() => {
      throw new Error('actor "cacheFolder" must be provided with machine.provide()');
    }),
  },
  delays: {
    fileLifetime: ({ context }) => context.settings.lifetimeMs,
  },
  actions: {
    keep: enqueueActions(({ context, event, enqueue }) => {
      const added = event as CacheAdded;
      let files = [...context.files, { name: added.name, bytes: added.bytes }];
      let bytes = context.bytes + added.bytes;
      enqueue.raise({ type: 'cache.expired', name: added.name }, { delay: 'fileLifetime', id: timerId(added.name) });
      // The newest file is kept even when it alone is over the byte bound: its client is about to fetch it.
      while (files.length > 1 && (files.length > context.settings.maxFiles || bytes > context.settings.maxBytes)) {
        const oldest = files[0]!;
        files = files.slice(1);
        bytes -= oldest.bytes;
        enqueue.cancel(timerId(oldest.name));
        enqueue.sendTo('folder', { type: 'cacheFolder.delete', name: oldest.name } satisfies CacheFolderCommand);
      }
      enqueue.assign({ files, bytes });
    }),
    expire: enqueueActions(({ context, event, enqueue }) => {
      const { name } = event as { name: string };
      const file = context.files.find((f) => f.name === name);
      if (!file) return;
      enqueue.assign({ files: context.files.filter((f) => f !== file), bytes: context.bytes - file.bytes });
      enqueue.sendTo('folder', { type: 'cacheFolder.delete', name } satisfies CacheFolderCommand);
    }),
  },
}).createMachine({
  id: 'webToolCache',
  context: ({ input }) => ({ settings: input, files: [], bytes: 0 }),
  invoke: { id: 'folder', src: 'cacheFolder' },
  on: {
    'cache.added': { actions: 'keep' },
    'cache.expired': { actions: 'expire' },
  },
});
