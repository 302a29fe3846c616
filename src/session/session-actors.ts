import { fromPromise } from 'xstate';
import type { ServerFrame } from '../protocol/server-frames.js';
import type { AppConfig, Character } from '../config/app-config.js';
import { listConfigFiles, loadCharacterFile } from '../config/character-files.js';
import { listBackgroundFiles } from '../assets/background-files.js';
import type { Logger } from '../observability/logger.js';
import { createSocketBridge } from '../server/socket-bridge.js';

export interface SessionDeps {
  app: AppConfig;
  logger: Logger;
}

/** The real implementations of the session machine's actor slots. */
export function createSessionActors({ app, logger }: SessionDeps) {
  return {
    socketBridge: createSocketBridge({ logger, pingIntervalMs: app.system.ws_ping_interval_seconds * 1000 }),

    initSession: fromPromise<Character, { clientUid: string }>(async () => app.baseCharacter),

    loadCharacter: fromPromise<Character, { file: string; clientUid: string }>(async ({ input, signal }) => {
      const log = logger.child({ client_uid: input.clientUid });
      try {
        const character = await loadCharacterFile(app, input.file);
        signal.throwIfAborted();
        log.info(`switched to ${input.file} (${character.config.conf_name})`);
        return character;
      } catch (err) {
        if (!signal.aborted) log.warn(`switch to ${input.file} failed: ${(err as Error).message}`);
        throw err;
      }
    }),

    listConfigs: fromPromise<ServerFrame, void>(async () => ({
      type: 'config-files',
      configs: await listConfigFiles(app),
    })),

    listBackgrounds: fromPromise<ServerFrame, void>(async () => ({
      type: 'background-files',
      files: await listBackgroundFiles(app.paths.backgrounds),
    })),
  };
}
