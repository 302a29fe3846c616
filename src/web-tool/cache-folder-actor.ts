import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fromCallback, type EventObject } from 'xstate';
import type { CacheFolderCommand } from '../../machines/web-tool-contract.js';
import type { Logger } from '../observability/logger.js';
import { CACHE_FILE_NAME } from './speak-to-file.js';

/** Deletes this server's audio files in `dir` (files it names, nothing else the folder may hold). */
function emptyCacheFolder(dir: string, logger: Logger): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!CACHE_FILE_NAME.test(name)) continue;
    try {
      rmSync(path.join(dir, name), { force: true });
    } catch (err) {
      logger.warn(`could not delete ${path.join(dir, name)}: ${(err as Error).message}`);
    }
  }
}

/**
 * The cache keeper's `cacheFolder` slot: creates the folder, removes what an earlier run left in it, deletes each
 * file it is told to, and when it stops (the server stops) removes the files still there, as upstream empties its
 * cache folder at exit.
 */
export function createCacheFolder(dir: string, logger: Logger) {
  return fromCallback<CacheFolderCommand, void, EventObject>(({ receive }) => {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      logger.warn(`/tts-ws cannot keep its audio files in ${dir}: ${(err as Error).message}`);
    }
    emptyCacheFolder(dir, logger);
    receive((command) => {
      if (!CACHE_FILE_NAME.test(command.name)) return;
      rm(path.join(dir, command.name), { force: true }).catch((err: Error) => logger.warn(`could not delete ${command.name} from ${dir}: ${err.message}`));
    });
    return () => emptyCacheFolder(dir, logger);
  });
}
