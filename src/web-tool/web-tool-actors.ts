import { fromPromise } from 'xstate';
import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { DEFAULT_WEB_TOOL_SETTINGS, type WebToolEngines, type WebToolSettings } from '../../machines/web-tool-contract.js';
import { webToolCacheMachine } from '../../machines/web-tool-cache.machine.js';
import { webToolSpeechMachine } from '../../machines/web-tool-speech.machine.js';
import { webToolMachine } from '../../machines/web-tool.machine.js';
import type { AppConfig } from '../config/app-config.js';
import { createTranscribe } from '../engines/asr/transcribe-actor.js';
import type { Logger } from '../observability/logger.js';
import { createCacheFolder } from './cache-folder-actor.js';
import { createSpeakToFile } from './speak-to-file.js';
import { createSpeechSocket, refuseSpeechSocket } from './speech-socket-actor.js';

/** The web tool's bounds: the engine deadlines of system_config, the rest fixed. */
export function webToolSettings(app: AppConfig): WebToolSettings {
  return {
    ...DEFAULT_WEB_TOOL_SETTINGS,
    transcriptionMs: app.system.asr_timeout_seconds * 1000,
    synthesisMs: app.system.tts_timeout_seconds * 1000,
  };
}

/**
 * The web tool machine with its slots filled: `engines` gives the default character's engines (the ones the server
 * built for conf.yaml's character at startup, so nothing is loaded twice), and the actors that touch sockets and
 * files.
 */
export function createWebTool(options: { app: AppConfig; logger: Logger; engines: () => Promise<WebToolEngines> }) {
  const { app, logger } = options;
  return webToolMachine.provide({
    actors: {
      engines: fromPromise(() => options.engines()),
      transcription: transcriptionMachine.provide({ actors: { transcribe: createTranscribe(logger) } }),
      speech: webToolSpeechMachine.provide({
        actors: {
          speechSocket: createSpeechSocket(logger, app.system.ws_ping_interval_seconds * 1000),
          speakToFile: createSpeakToFile(app.paths.cache, logger),
        },
      }),
      webToolCache: webToolCacheMachine.provide({ actors: { cacheFolder: createCacheFolder(app.paths.cache, logger) } }),
    },
    actions: {
      refuseSpeechSocket: (_, params) => {
        logger.warn(`refused a /tts-ws connection: ${params.message}`);
        refuseSpeechSocket(params.socket, params.message);
      },
    },
  });
}
