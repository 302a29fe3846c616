import { assign, enqueueActions, fromCallback, fromPromise, sendParent, setup, type EventObject } from 'xstate';
import type { ChatMessage } from '../src/agent/chat-memory.js';
import { sentenceOutput } from '../src/agent/sentence-output.js';
import { flushText, initialSplitter, pushText, type SplitterState, type TextUnit } from '../src/agent/sentence-splitter.js';
import type { CharacterConfig } from '../src/config/conf-schema.js';
import type { ImageInput, LlmRequest } from '../src/engines/llm/llm-engine.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { ttsPipelineMachine, type PipelineOutputEvent, type SpeechJob } from './tts-pipeline.machine.js';

/**
 * One conversation turn, invoked by the session while it is `responding`: leaving that state (interrupt, new input,
 * switch-config, disconnect) stops the turn and, with it, the LLM request, every synthesis and the playback wait.
 *
 *   starting → (transcribing) → thinking → speaking → awaitingPlayback → finishing → done
 *
 * Frames go to the session as `turn.frame`, in the order of PROTOCOL §5.1; every turn that sent
 * `conversation-chain-start` ends with `conversation-chain-end`, whatever failed on the way (D7).
 */

export type TurnTrigger =
  | { kind: 'text'; text: string; images: ImageInput[] }
  | { kind: 'audio'; samples: Float32Array; images: ImageInput[] }
  | { kind: 'proactive'; prompt: string; images: ImageInput[] };

export interface TurnEngines {
  llm: unknown;
  tts: unknown;
  asr?: unknown;
}

export interface TurnInput {
  clientUid: string;
  trigger: TurnTrigger;
  speaker: { name: string; avatar: string };
  emotionMap: Record<string, number | string>;
  preprocessor: CharacterConfig['tts_preprocessor_config'];
  fasterFirstResponse: boolean;
  system: string;
  /** The session's memory when the turn starts (the user message is not in it yet). */
  memory: ChatMessage[];
  engines: TurnEngines;
  asrUnavailable?: string;
  ttsConcurrency: number;
  playbackSlackMs: number;
}

export interface TurnOutput {
  /** What the user said (transcribed for voice); '' for a proactive turn. */
  userText: string;
  /** The model's whole reply, as it wrote it (memory). */
  reply: string;
  /** The display texts sent, in order (history). */
  spoken: string[];
  /** The playback wait ended by its bound, not by the client. */
  playbackTimedOut: boolean;
}

export interface TurnContext extends TurnInput {
  userText: string;
  splitter: SplitterState;
  reply: string;
  seq: number;
  spoken: string[];
  audioMs: number;
  framesSent: number;
  playbackTimedOut: boolean;
}

export type TurnEvent =
  | { type: 'llm.delta'; text: string }
  | { type: 'llm.done' }
  | { type: 'llm.error'; message: string }
  | PipelineOutputEvent
  | { type: 'playback.complete' };

/** Sent to the session. */
export type TurnOutputEvent = { type: 'turn.frame'; frame: ServerFrame } | { type: 'turn.user-message'; content: string };

export function llmRequest(context: TurnContext): LlmRequest {
  const userText = context.trigger.kind === 'proactive' ? context.trigger.prompt : context.userText;
  return { system: context.system, memory: context.memory, userText, images: context.trigger.images };
}

/** The user's message as memory stores it (images are not kept, only noted). */
export function userMemoryText(text: string, images: readonly ImageInput[]): string {
  return text.trim() || (images.length > 0 ? '[User provided image(s)]' : '');
}

const dispatchUnits = (context: TurnContext, units: TextUnit[]) =>
  units.map(
    (unit, i): SpeechJob => ({
      seq: context.seq + i,
      ...sentenceOutput(unit, context.emotionMap, context.preprocessor),
    }),
  );

export const turnMachine = setup({
  types: {
    context: {} as TurnContext,
    events: {} as TurnEvent,
    input: {} as TurnInput,
    output: {} as TurnOutput,
  },
  actors: {
    ttsPipeline: ttsPipelineMachine,
    /** Streams the model's reply as `llm.delta` … `llm.done` | `llm.error`; stopping it aborts the request. */
    llmStream: fromCallback<EventObject, { engine: unknown; request: LlmRequest; clientUid: string }, EventObject>(() => {
      throw new Error('actor "llmStream" must be provided with machine.provide()');
    }),
    transcribe: fromPromise<string, { engine: unknown; unavailable?: string; samples: Float32Array; clientUid: string }>(() => {
      throw new Error('actor "transcribe" must be provided with machine.provide()');
    }),
  },
  actions: {
    sendFrame: sendParent((_, frame: ServerFrame) => ({ type: 'turn.frame', frame }) satisfies TurnOutputEvent),
    /** Text → sentences → the TTS pipeline, keeping the splitter's state. */
    feedText: enqueueActions(({ context, enqueue }, params: { text: string; final: boolean }) => {
      const options = { fasterFirstResponse: context.fasterFirstResponse };
      const pushed = pushText(context.splitter, params.text, options);
      const { state, units } = params.final ? flushTogether(pushed, options) : pushed;
      for (const job of dispatchUnits(context, units)) enqueue.sendTo('tts', { type: 'tts.sentence', job });
      enqueue.assign({ splitter: state, seq: context.seq + units.length, reply: context.reply + params.text });
      if (params.final) enqueue.sendTo('tts', { type: 'tts.end', total: context.seq + units.length });
    }),
  },
  delays: {
    /** The bound on the wait for the client's playback (D2): the audio sent plus a slack. */
    playbackDeadline: ({ context }) => Math.round(context.audioMs + context.playbackSlackMs),
  },
  guards: {
    isVoice: ({ context }) => context.trigger.kind === 'audio',
    anythingSent: ({ context }) => context.framesSent > 0,
    nothingToAnswer: ({ context }) => context.trigger.kind !== 'proactive' && userMemoryText(context.userText, context.trigger.images) === '',
  },
}).createMachine({
  id: 'turn',
  context: ({ input }) => ({
    ...input,
    userText: input.trigger.kind === 'text' ? input.trigger.text : '',
    splitter: initialSplitter(),
    reply: '',
    seq: 0,
    spoken: [],
    audioMs: 0,
    framesSent: 0,
    playbackTimedOut: false,
  }),
  invoke: {
    id: 'tts',
    src: 'ttsPipeline',
    input: ({ context }) => ({ concurrency: context.ttsConcurrency, speaker: context.speaker, engine: context.engines.tts }),
  },
  on: {
    // Payloads arrive from the pipeline already in sentence order.
    'tts.payload': {
      actions: [
        assign({
          framesSent: ({ context }) => context.framesSent + 1,
          audioMs: ({ context, event }) => context.audioMs + event.durationMs,
          spoken: ({ context, event }) => [...context.spoken, event.frame.display_text?.text ?? ''],
        }),
        { type: 'sendFrame', params: ({ event }) => event.frame },
      ],
    },
  },
  initial: 'starting',
  states: {
    starting: {
      entry: [
        { type: 'sendFrame', params: { type: 'control', text: 'conversation-chain-start' } },
        { type: 'sendFrame', params: { type: 'full-text', text: 'Thinking...' } },
      ],
      always: [{ guard: 'isVoice', target: 'transcribing' }, { guard: 'nothingToAnswer', target: 'finishing' }, { target: 'thinking' }],
    },
    transcribing: {
      invoke: {
        src: 'transcribe',
        input: ({ context }) => ({
          engine: context.engines.asr,
          unavailable: context.asrUnavailable,
          samples: context.trigger.kind === 'audio' ? context.trigger.samples : new Float32Array(),
          clientUid: context.clientUid,
        }),
        onDone: [
          {
            // Nothing was understood: say so in the transcript and end the turn without asking the model.
            guard: ({ context, event }) => userMemoryText(event.output, context.trigger.images) === '',
            target: 'finishing',
            actions: { type: 'sendFrame', params: ({ event }) => ({ type: 'user-input-transcription', text: event.output }) },
          },
          {
            target: 'thinking',
            actions: [
              assign({ userText: ({ event }) => event.output }),
              { type: 'sendFrame', params: ({ event }) => ({ type: 'user-input-transcription', text: event.output }) },
            ],
          },
        ],
        onError: {
          target: 'finishing',
          actions: {
            type: 'sendFrame',
            params: ({ event }) => ({ type: 'error', message: `Speech recognition failed: ${(event.error as Error)?.message ?? String(event.error)}` }),
          },
        },
      },
    },
    thinking: {
      entry: enqueueActions(({ context, enqueue }) => {
        // The user's words enter memory before the model is asked (UPSTREAM-BEHAVIOR §2.3); a proactive prompt never does.
        if (context.trigger.kind !== 'proactive') {
          enqueue.sendParent({ type: 'turn.user-message', content: userMemoryText(context.userText, context.trigger.images) } satisfies TurnOutputEvent);
        }
      }),
      invoke: {
        id: 'llm',
        src: 'llmStream',
        input: ({ context }) => ({ engine: context.engines.llm, request: llmRequest(context), clientUid: context.clientUid }),
      },
      on: {
        'llm.delta': { actions: { type: 'feedText', params: ({ event }) => ({ text: event.text, final: false }) } },
        'llm.done': { target: 'speaking', actions: { type: 'feedText', params: { text: '', final: true } } },
        'llm.error': {
          target: 'speaking',
          actions: [
            { type: 'sendFrame', params: ({ event }) => ({ type: 'error', message: `Error processing agent response: ${event.message}` }) },
            { type: 'feedText', params: { text: '', final: true } },
          ],
        },
      },
    },
    speaking: {
      on: {
        'tts.drained': [{ guard: 'anythingSent', target: 'awaitingPlayback' }, { target: 'finishing' }],
      },
    },
    awaitingPlayback: {
      // Sent once, after the last audio frame (D8); only a playback-complete from now on counts (D9).
      entry: { type: 'sendFrame', params: { type: 'backend-synth-complete' } },
      on: { 'playback.complete': 'finishing' },
      after: { playbackDeadline: { target: 'finishing', actions: assign({ playbackTimedOut: true }) } },
    },
    finishing: {
      entry: [
        { type: 'sendFrame', params: { type: 'force-new-message' } },
        { type: 'sendFrame', params: { type: 'control', text: 'conversation-chain-end' } },
      ],
      always: 'done',
    },
    done: { type: 'final' },
  },
  output: ({ context }) => ({
    userText: context.trigger.kind === 'proactive' ? '' : context.userText,
    reply: context.reply,
    spoken: context.spoken,
    playbackTimedOut: context.playbackTimedOut,
  }),
});

function flushTogether(
  pushed: { state: SplitterState; units: TextUnit[] },
  options: { fasterFirstResponse: boolean },
): { state: SplitterState; units: TextUnit[] } {
  const flushed = flushText(pushed.state, options);
  return { state: flushed.state, units: [...pushed.units, ...flushed.units] };
}
