import { assign, enqueueActions, fromPromise, sendTo, setup, type AnyActorRef } from 'xstate';
import { emptyIdPool, releaseChild, takeId, type IdPool } from './id-pool.js';
import type { ClientSocket } from './socket-contract.js';
import { transcriptionMachine, type TranscriptionInput, type TranscriptionOutput } from './transcription.machine.js';
import { webToolCacheMachine } from './web-tool-cache.machine.js';
import { webToolSpeechMachine, type SpeechInput } from './web-tool-speech.machine.js';
import type { CacheAdded, TranscribeOutcome, TranscribeReply, WebToolEngines, WebToolRequest, WebToolSettings } from './web-tool-contract.js';

/**
 * The web tool's routes, as one actor of the server (systemId `webTool`): `POST /asr` and `/tts-ws`, served with the
 * default character's engines, which its `engines` slot makes ready once. It owns everything they cause to run:
 * each transcription (`asr.<n>`, a transcription machine with its deadline; a bounded number at once, a bounded
 * number waiting, the next one refused), each `/tts-ws` connection (`speech.<n>`, a bounded number; its sentences
 * are its children), and the cache keeper that deletes their audio files. The server's stop stops all of it.
 */

interface WaitingJob {
  jobId: string;
  samples: Float32Array;
  replyTo: AnyActorRef;
}

interface RunningJob {
  jobId: string;
  childId: string;
  replyTo: AnyActorRef;
}

export interface WebToolContext {
  settings: WebToolSettings;
  /** null while the `engines` slot is making them ready. */
  engines: WebToolEngines | null;
  running: RunningJob[];
  waiting: WaitingJob[];
  asrIds: IdPool;
  speechIds: IdPool;
  /** Connections that arrived while the engines were being made ready. */
  pendingSockets: ClientSocket[];
}

export type WebToolEvent =
  | WebToolRequest
  | CacheAdded
  | { type: `xstate.done.actor.asr.${string}`; actorId: string; output: TranscriptionOutput }
  | { type: `xstate.error.actor.asr.${string}`; actorId: string; error: unknown }
  | { type: `xstate.done.actor.speech.${string}`; actorId: string }
  | { type: `xstate.error.actor.speech.${string}`; actorId: string; error: unknown };

/** Children in use from a pool. */
const inUse = (pool: IdPool) => pool.next - pool.free.length;

const reply = (jobId: string, outcome: TranscribeOutcome): TranscribeReply => ({ type: 'webTool.transcribed', jobId, outcome });

function outcomeOf(output: TranscriptionOutput): TranscribeOutcome {
  if (!output.error) return { kind: 'text', text: output.text };
  return { kind: output.error.code === 'asr_timeout' ? 'timeout' : 'failed', message: output.error.message };
}

const NO_ASR = 'no speech recognition engine is configured for the default character';
const NO_TTS = 'no speech engine is configured for the default character';

export const webToolMachine = setup({
  types: {
    context: {} as WebToolContext,
    events: {} as WebToolEvent,
    input: {} as WebToolSettings,
  },
  actors: {
    /** The default character's engines, made ready once (src/web-tool/web-tool-actors.ts). */
    engines: fromPromise<WebToolEngines>(() => {
      throw new Error('actor "engines" must be provided with machine.provide()');
    }),
    transcription: transcriptionMachine,
    speech: webToolSpeechMachine,
    webToolCache: webToolCacheMachine,
  },
  guards: {
    speechSocketsFull: ({ context }) => inUse(context.speechIds) + context.pendingSockets.length >= context.settings.maxSpeechSockets,
  },
  actions: {
    /** A connection over the bound is told so and closed (provided from src; the socket is its to close). */
    refuseSpeechSocket: (_, _params: { socket: ClientSocket; message: string }) => undefined,
    accept: enqueueActions(({ context, event, enqueue }) => {
      const job = event as Extract<WebToolRequest, { type: 'webTool.transcribe' }>;
      const { asrRunning, asrWaiting } = context.settings;
      if (context.engines && !context.engines.asr) {
        enqueue.sendTo(job.replyTo, reply(job.jobId, { kind: 'unavailable', message: context.engines.asrUnavailable ?? NO_ASR }));
      } else if (context.waiting.length < asrWaiting || (context.engines && context.running.length < asrRunning)) {
        enqueue.assign({ waiting: [...context.waiting, { jobId: job.jobId, samples: job.samples, replyTo: job.replyTo }] });
      } else {
        const message = `the speech recogniser is busy (${context.running.length} recordings being transcribed, ${context.waiting.length} waiting); try again shortly`;
        enqueue.sendTo(job.replyTo, reply(job.jobId, { kind: 'busy', message }));
      }
    }),
    /** Starts waiting jobs while there is room (or answers them all when there is no recogniser). */
    pump: enqueueActions(({ context, enqueue }) => {
      const { engines } = context;
      if (!engines) return;
      let { running, waiting, asrIds } = context;
      while (waiting.length > 0 && (!engines.asr || running.length < context.settings.asrRunning)) {
        const job = waiting[0]!;
        waiting = waiting.slice(1);
        if (!engines.asr) {
          enqueue.sendTo(job.replyTo, reply(job.jobId, { kind: 'unavailable', message: engines.asrUnavailable ?? NO_ASR }));
          continue;
        }
        const [n, ids] = takeId(asrIds);
        asrIds = ids;
        const childId = `asr.${n}`;
        const input: TranscriptionInput = { engine: engines.asr, samples: job.samples, clientUid: 'web-tool', deadlineMs: context.settings.transcriptionMs };
        enqueue.spawnChild('transcription', { id: childId, input });
        running = [...running, { jobId: job.jobId, childId, replyTo: job.replyTo }];
      }
      enqueue.assign({ running, waiting, asrIds });
    }),
    finish: enqueueActions(({ context, event, enqueue }) => {
      const { actorId } = event as { actorId: string };
      const job = context.running.find((j) => j.childId === actorId);
      if (!job) return;
      const ended = event as Extract<WebToolEvent, { actorId: string }>;
      const outcome =
        'output' in ended ? outcomeOf(ended.output) : { kind: 'failed' as const, message: `Speech recognition failed: ${String((ended as { error?: unknown }).error)}` };
      enqueue.sendTo(job.replyTo, reply(job.jobId, outcome));
      enqueue.assign({ running: context.running.filter((j) => j !== job), asrIds: releaseChild(enqueue, context.asrIds, actorId) });
    }),
    cancel: enqueueActions(({ context, event, enqueue }) => {
      const { jobId } = event as Extract<WebToolRequest, { type: 'webTool.cancel' }>;
      const job = context.running.find((j) => j.jobId === jobId);
      if (job) enqueue.assign({ running: context.running.filter((j) => j !== job), asrIds: releaseChild(enqueue, context.asrIds, job.childId) });
      else enqueue.assign({ waiting: context.waiting.filter((j) => j.jobId !== jobId) });
    }),
    openSocket: assign({
      pendingSockets: ({ context, event }) => [...context.pendingSockets, (event as Extract<WebToolRequest, { type: 'webTool.speechSocket' }>).socket],
    }),
    /** Gives each connection that is waiting its child, once the engines are ready. */
    startSockets: enqueueActions(({ context, enqueue }) => {
      const { engines } = context;
      if (!engines || context.pendingSockets.length === 0) return;
      let ids = context.speechIds;
      for (const socket of context.pendingSockets) {
        const [n, next] = takeId(ids);
        ids = next;
        const input: SpeechInput = {
          socket,
          engine: engines.tts,
          unavailable: engines.ttsUnavailable ?? NO_TTS,
          deadlineMs: context.settings.synthesisMs,
          maxWaiting: context.settings.maxWaitingTexts,
        };
        enqueue.spawnChild('speech', { id: `speech.${n}`, input });
      }
      enqueue.assign({ speechIds: ids, pendingSockets: [] });
    }),
    /** A connection's file, to the cache keeper. */
    toCache: sendTo('cache', ({ event }) => event as CacheAdded),
    /** Keeps the default character's engines, now ready. */
    keepEngines: assign({ engines: (_, engines: WebToolEngines) => engines }),
    /** The engines could not be made ready: both routes answer with why. */
    noteEnginesFailed: assign({
      engines: (_, { error }: { error: unknown }) => {
        const why = `the default character's engines could not be made ready: ${(error as Error)?.message ?? String(error)}`;
        return { asrUnavailable: why, ttsUnavailable: why };
      },
    }),
    releaseSocket: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ speechIds: releaseChild(enqueue, context.speechIds, (event as { actorId: string }).actorId) });
    }),
  },
}).createMachine({
  id: 'webTool',
  context: ({ input }) => ({
    settings: input,
    engines: null,
    running: [],
    waiting: [],
    asrIds: emptyIdPool(),
    speechIds: emptyIdPool(),
    pendingSockets: [],
  }),
  invoke: { id: 'cache', src: 'webToolCache', input: ({ context }) => context.settings.cache },
  on: {
    'webTool.transcribe': { actions: ['accept', 'pump'] },
    'webTool.cancel': { actions: ['cancel', 'pump'] },
    'webTool.speechSocket': [
      {
        guard: 'speechSocketsFull',
        actions: {
          type: 'refuseSpeechSocket',
          params: ({ context, event }) => ({
            socket: event.socket,
            message: `${context.settings.maxSpeechSockets} /tts-ws connections are open, the most this server serves at once; try again later`,
          }),
        },
      },
      { actions: ['openSocket', 'startSockets'] },
    ],
    'cache.added': { actions: 'toCache' },
    'xstate.done.actor.asr.*': { actions: ['finish', 'pump'] },
    'xstate.error.actor.asr.*': { actions: ['finish', 'pump'] },
    'xstate.done.actor.speech.*': { actions: 'releaseSocket' },
    'xstate.error.actor.speech.*': { actions: 'releaseSocket' },
  },
  initial: 'loading',
  states: {
    loading: {
      invoke: {
        src: 'engines',
        onDone: { target: 'ready', actions: { type: 'keepEngines', params: ({ event }) => event.output } },
        onError: { target: 'ready', actions: { type: 'noteEnginesFailed', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    ready: {
      entry: ['pump', 'startSockets'],
    },
  },
});
