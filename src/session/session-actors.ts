import { fromPromise } from 'xstate';
import { turnMachine } from '../../machines/turn.machine.js';
import { ttsPipelineMachine } from '../../machines/tts-pipeline.machine.js';
import type { QueryResult, SessionLimits, SessionSetup } from '../../machines/session.machine.js';
import type { HistoryStore } from '../history/history-store.js';
import { createHistoryActors } from './history-actors.js';
import type { AppConfig } from '../config/app-config.js';
import { listConfigFiles, loadCharacterFile } from '../config/character-files.js';
import { listBackgroundFiles } from '../assets/background-files.js';
import type { Logger } from '../observability/logger.js';
import { createSocketBridge } from '../server/socket-bridge.js';
import { buildCharacterRuntime, type SessionCharacter } from './character-runtime.js';
import { createLlmStream } from '../engines/llm/llm-stream-actor.js';
import { createTranscribe } from '../engines/asr/transcribe-actor.js';
import { createSynthesize } from '../engines/tts/synthesize-actor.js';
import { toolboxMachine } from '../../machines/toolbox.machine.js';
import { createMcpServerActor } from '../mcp/mcp-server-actor.js';
import type { ToolListCache } from '../mcp/tool-catalog.js';
import { OnceLog } from '../observability/once-log.js';

export interface SessionDeps {
  app: AppConfig;
  logger: Logger;
  /** conf.yaml's character with its engines, built once at startup (its warnings were logged then). */
  baseCharacter: SessionCharacter;
  /** chat_history/, shared by every session. */
  history: HistoryStore;
  /** MCP tool lists by server configuration, discovered once for all sessions (D34). */
  toolLists: ToolListCache;
  /** Character-file warnings already logged (each is said once per process). */
  warnedOnce?: OnceLog;
}

export function sessionLimits(app: AppConfig): SessionLimits {
  return {
    ttsConcurrency: app.system.tts_concurrency,
    playbackSlackMs: app.system.playback_slack_seconds * 1000,
    micMaxSamples: Math.round(app.system.mic_max_seconds * 16000),
    groupMaxMembers: app.system.group_max_members,
    groupRounds: app.system.group_conversation_rounds,
    mcpMaxSteps: app.system.mcp_max_tool_steps,
    mcpCallTimeoutMs: app.system.mcp_call_timeout_seconds * 1000,
  };
}

/** The real implementations of the session machine's actor slots (and of the turn's, below it). */
export function createSessionActors({ app, logger, baseCharacter, history, toolLists, warnedOnce = new OnceLog() }: SessionDeps) {
  const turn = turnMachine.provide({
    actors: {
      llmStream: createLlmStream(logger),
      transcribe: createTranscribe(logger),
      ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: createSynthesize(logger) } }),
    },
  });
  return {
    socketBridge: createSocketBridge({ logger, pingIntervalMs: app.system.ws_ping_interval_seconds * 1000 }),

    initSession: fromPromise<SessionSetup, { clientUid: string }>(async () => ({
      character: baseCharacter,
      limits: sessionLimits(app),
    })),

    loadCharacter: fromPromise<SessionCharacter, { file: string; clientUid: string }>(async ({ input, signal }) => {
      const log = logger.child({ client_uid: input.clientUid });
      try {
        const character = await buildCharacterRuntime(app, await loadCharacterFile(app, input.file), toolLists);
        signal.throwIfAborted();
        log.info(`switched to ${input.file} (${character.config.conf_name})`);
        for (const warning of character.runtime.warnings) if (warnedOnce.first(input.file, warning)) log.warn(`${input.file}: ${warning}`);
        return character;
      } catch (err) {
        if (!signal.aborted) log.warn(`switch to ${input.file} failed: ${(err as Error).message}`);
        throw err;
      }
    }),

    listConfigs: fromPromise<QueryResult, void>(async () => ({
      frame: { type: 'config-files', configs: await listConfigFiles(app) },
    })),

    listBackgrounds: fromPromise<QueryResult, void>(async () => ({
      frame: { type: 'background-files', files: await listBackgroundFiles(app.paths.backgrounds) },
    })),

    ...createHistoryActors(history, logger),

    turn,

    toolbox: toolboxMachine.provide({ actors: { mcpServer: createMcpServerActor(logger) } }),
  };
}
