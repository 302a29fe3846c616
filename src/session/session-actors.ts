import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { fromPromise } from 'xstate';
import { turnMachine } from '../../machines/turn.machine.js';
import { ttsPipelineMachine } from '../../machines/tts-pipeline.machine.js';
import type { SessionLimits, SessionSetup } from '../../machines/session.machine.js';
import { requestQueueMachine, type RequestResult, type SessionRequest } from '../../machines/request-queue.machine.js';
import type { EngineDeadlines } from '../../machines/engine-deadlines.js';
import { ASR_SAMPLE_RATE } from '../../machines/engine-contracts.js';
import type { HistoryStore } from '../history/history-store.js';
import { createHistoryActors, historyAnswers } from './history-actors.js';
import type { AppConfig } from '../config/app-config.js';
import { listConfigFiles, loadCharacterFile } from '../config/character-files.js';
import { listBackgroundFiles } from '../assets/background-files.js';
import type { Logger } from '../observability/logger.js';
import { createSocketBridge } from '../server/socket-bridge.js';
import { outboundBounds } from '../server/outbound-gate.js';
import { buildCharacterRuntime } from './character-runtime.js';
import { createLlmStream } from '../engines/llm/llm-stream-actor.js';
import { createTranscribe } from '../engines/asr/transcribe-actor.js';
import { createSynthesize } from '../engines/tts/synthesize-actor.js';
import { toolboxMachine } from '../../machines/toolbox.machine.js';
import { voiceDetectionMachine } from '../../machines/voice-detection.machine.js';
import { createSpeechProbability } from '../engines/vad/silero-vad.js';
import { createMcpServerActor } from '../mcp/mcp-server-actor.js';
import type { ModelBoard } from '../downloads/model-board.js';
import type { OllamaModelsInUse } from '../engines/llm/ollama-unload.js';
import type { ToolProcesses } from '../mcp/tool-processes.js';
import { OnceLog } from '../observability/once-log.js';
import type { ToolListCache } from '../mcp/tool-list-cache.js';
import type { SessionCharacter } from '../../machines/session-character.js';
import type { Clock } from '../../machines/clock.js';
import type { createRecallMemories } from '../memory/memory-actors.js';

/** The sessions' clock: the system's (a machine reads no clock of its own). */
const systemClock: Clock = { now: () => Date.now() };

export interface SessionDeps {
  app: AppConfig;
  logger: Logger;
  /** conf.yaml's character with its engines, built once at startup (its warnings were logged then). */
  baseCharacter: SessionCharacter;
  /** chat_history/, shared by every session. */
  history: HistoryStore;
  /** MCP tool lists by server configuration, discovered once for all sessions (docs/upstream-defects.md, U3). */
  toolLists: ToolListCache;
  /** Ollama models to unload at shutdown (unload_at_exit). */
  ollamaModels?: OllamaModelsInUse;
  /** Models the first start is downloading. */
  models?: ModelBoard;
  /** Per-session tool server groups being ended (the server's stop waits for them). */
  toolProcesses?: ToolProcesses;
  /** Character-file warnings already logged (each is said once per process). */
  warnedOnce?: OnceLog;
  /** Long-term memory's recall for the turns (system_config.memory.enabled). */
  recallMemories?: ReturnType<typeof createRecallMemories>;
}

export function sessionLimits(app: AppConfig): SessionLimits {
  return {
    ttsConcurrency: app.system.tts_concurrency,
    playbackSlackMs: app.system.playback_slack_seconds * 1000,
    micMaxSamples: Math.round(app.system.mic_max_seconds * ASR_SAMPLE_RATE),
    group: { invite: app.system.group_invite, maxMembers: app.system.group_max_members, rounds: app.system.group_conversation_rounds },
    groupMemberAnswerMs: app.system.group_member_answer_timeout_seconds * 1000,
    mcpMaxSteps: app.system.mcp_max_tool_steps,
    mcpStartTimeoutMs: app.system.mcp_start_timeout_seconds * 1000,
    mcpCallTimeoutMs: app.system.mcp_call_timeout_seconds * 1000,
    maxPendingRequests: app.system.max_pending_requests,
    historyWriteDeadlineMs: app.system.history_write_timeout_seconds * 1000,
    deadlines: engineDeadlines(app),
    ...(app.system.memory.enabled
      ? { recall: { topK: app.system.memory.top_k, maxCharacters: app.system.memory.max_characters, deadlineMs: app.system.memory.recall_timeout_ms } }
      : {}),
  };
}

/** system_config's engine bounds, for the turn and the group conversation. */
export function engineDeadlines(app: AppConfig): EngineDeadlines {
  return {
    llmFirstOutputMs: app.system.llm_first_output_timeout_seconds * 1000,
    llmIdleMs: app.system.llm_idle_timeout_seconds * 1000,
    synthesisMs: app.system.tts_timeout_seconds * 1000,
    transcriptionMs: app.system.asr_timeout_seconds * 1000,
  };
}

/** The real implementations of the session machine's actor slots (and of the turn's, below it). */
export function createSessionActors({ app, logger, baseCharacter, history, toolLists, ollamaModels, models, toolProcesses, warnedOnce = new OnceLog(), recallMemories }: SessionDeps) {
  const turn = turnMachine.provide({
    actors: {
      llmStream: createLlmStream(logger),
      transcription: transcriptionMachine.provide({ actors: { transcribe: createTranscribe(logger) } }),
      ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: createSynthesize(logger) } }),
      ...(recallMemories ? { recallMemories } : {}),
    },
  });
  return {
    socketBridge: createSocketBridge({
      logger,
      pingIntervalMs: app.system.ws_ping_interval_seconds * 1000,
      outbound: outboundBounds(app.system.ws_max_buffered_bytes),
    }),

    initSession: fromPromise<SessionSetup, { clientUid: string }>(async () => ({
      character: baseCharacter,
      limits: sessionLimits(app),
      clock: systemClock,
    })),

    loadCharacter: fromPromise<SessionCharacter, { file: string; clientUid: string }>(async ({ input, signal }) => {
      const log = logger.child({ client_uid: input.clientUid });
      try {
        const character = await buildCharacterRuntime(app, await loadCharacterFile(app, input.file), toolLists, { logger: log, ollamaModels, models });
        signal.throwIfAborted();
        log.info(`switched to ${input.file} (${character.config.conf_name})`);
        for (const warning of character.runtime.warnings) if (warnedOnce.first(input.file, warning)) log.warn(`${input.file}: ${warning}`);
        for (const note of character.runtime.notes ?? []) if (warnedOnce.first(input.file, note)) log.info(`${input.file}: ${note}`);
        return character;
      } catch (err) {
        if (!signal.aborted) log.warn(`switch to ${input.file} failed: ${(err as Error).message}`);
        throw err;
      }
    }),

    requestQueue: requestQueueMachine.provide({ actors: { answerRequest: answerRequest(app, history) } }),

    ...createHistoryActors(history, logger),

    turn,

    toolbox: toolboxMachine.provide({ actors: { mcpServer: createMcpServerActor(logger, toolProcesses) } }),

    voiceDetection: voiceDetectionMachine.provide({ actors: { speechProbability: createSpeechProbability(app.paths) } }),
  };
}

/** The work behind each request a session queues; answered one at a time, in arrival order. */
function answerRequest(app: AppConfig, store: HistoryStore) {
  const histories = historyAnswers(store);
  return fromPromise<RequestResult, Exclude<SessionRequest, { kind: 'inline' }>>(async ({ input }) => {
    switch (input.kind) {
      case 'fetch-configs':
        return { frame: { type: 'config-files', configs: await listConfigFiles(app) } };
      case 'fetch-backgrounds':
        return { frame: { type: 'background-files', files: await listBackgroundFiles(app.paths.backgrounds) } };
      case 'fetch-history-list':
        return histories.list(input.confUid, input.hiddenTags);
      case 'create-new-history':
        return histories.create(input.confUid);
      case 'fetch-and-set-history':
        return histories.load(input.confUid, input.historyUid, input.interruptMethod, input.hiddenTags);
      case 'delete-history':
        return histories.delete(input.confUid, input.historyUid);
    }
  });
}
