import { setTimeout as delay } from 'node:timers/promises';
import { fromPromise } from 'xstate';
import type { AppConfig } from '../../src/config/app-config.js';
import { buildCharacterRuntime } from '../../src/session/character-runtime.js';
import { loadCharacterFile } from '../../src/config/character-files.js';
import type { SessionCharacter } from '../../machines/session-character.js';

export interface SwitchLog {
  started: string[];
  aborted: string[];
  finished: string[];
  /** The client uid of each started switch, in the order of `started`. */
  clients?: string[];
}

/**
 * The real switch loader, made slow: it waits `ms` (honouring the actor's abort signal) before loading, and
 * records which switches started, were aborted by XState, or finished.
 */
export function slowLoadCharacter(app: AppConfig, ms: number, log: SwitchLog) {
  return fromPromise<SessionCharacter, { file: string; clientUid: string }>(async ({ input, signal }) => {
    log.started.push(input.file);
    log.clients?.push(input.clientUid);
    signal.addEventListener('abort', () => log.aborted.push(input.file), { once: true });
    await delay(ms, undefined, { signal });
    const character = await buildCharacterRuntime(app, await loadCharacterFile(app, input.file));
    log.finished.push(input.file);
    return character;
  });
}

export const newSwitchLog = (): SwitchLog => ({ started: [], aborted: [], finished: [], clients: [] });

/**
 * The real switch loader behind a gate the test holds: a load starts (and is logged), then waits until the test
 * calls `open()` or XState aborts it. A switch is "in progress" for exactly as long as the test says, so tests
 * assert what happens meanwhile by the order of events, not by how long something took.
 */
export class SwitchGate implements SwitchLog {
  started: string[] = [];
  aborted: string[] = [];
  finished: string[] = [];
  private isOpen = false;
  private waiting = new Set<() => void>();

  loader(app: AppConfig) {
    return fromPromise<SessionCharacter, { file: string; clientUid: string }>(async ({ input, signal }) => {
      this.started.push(input.file);
      signal.addEventListener('abort', () => this.aborted.push(input.file), { once: true });
      if (!this.isOpen) {
        await new Promise<void>((resolve, reject) => {
          const go = () => resolve();
          this.waiting.add(go);
          signal.addEventListener('abort', () => (this.waiting.delete(go), reject(signal.reason)), { once: true });
        });
      }
      const character = await buildCharacterRuntime(app, await loadCharacterFile(app, input.file));
      this.finished.push(input.file);
      return character;
    });
  }

  /** Lets every held load (and every later one) go on. */
  open(): void {
    this.isOpen = true;
    for (const go of this.waiting) go();
    this.waiting.clear();
  }

  /** Closed again, with empty logs (between tests). */
  reset(): void {
    this.isOpen = false;
    this.started.length = this.aborted.length = this.finished.length = 0;
  }
}
