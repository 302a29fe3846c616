import { setTimeout as delay } from 'node:timers/promises';
import { fromPromise } from 'xstate';
import type { AppConfig } from '../../src/config/app-config.js';
import { buildCharacterRuntime, type SessionCharacter } from '../../src/session/character-runtime.js';
import { loadCharacterFile } from '../../src/config/character-files.js';

export interface SwitchLog {
  started: string[];
  aborted: string[];
  finished: string[];
}

/**
 * The real switch loader, made slow: it waits `ms` (honouring the actor's abort signal) before loading, and
 * records which switches started, were aborted by XState, or finished.
 */
export function slowLoadCharacter(app: AppConfig, ms: number, log: SwitchLog) {
  return fromPromise<SessionCharacter, { file: string; clientUid: string }>(async ({ input, signal }) => {
    log.started.push(input.file);
    signal.addEventListener('abort', () => log.aborted.push(input.file), { once: true });
    await delay(ms, undefined, { signal });
    const character = await buildCharacterRuntime(app, await loadCharacterFile(app, input.file));
    log.finished.push(input.file);
    return character;
  });
}

export const newSwitchLog = (): SwitchLog => ({ started: [], aborted: [], finished: [] });
