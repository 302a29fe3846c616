import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { createActor, sendTo, setup, SimulatedClock } from 'xstate';
import type { TurnInput, TurnOutput, TurnTrigger } from '../../machines/turn-contract.js';
import { turnMachine } from '../../machines/turn.machine.js';
import { ttsPipelineMachine } from '../../machines/tts-pipeline.machine.js';
import { ttsPreprocessorConfigSchema } from '../../src/config/conf-schema.js';
import { createTranscribe } from '../../src/engines/asr/transcribe-actor.js';
import { createLlmStream } from '../../src/engines/llm/llm-stream-actor.js';
import { createSynthesize } from '../../src/engines/tts/synthesize-actor.js';
import { createLogger } from '../../src/observability/logger.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import type { PcmAudio } from '../../src/audio/pcm-audio.js';
import type { LlmEngine, TtsEngine, AsrEngine } from '../../machines/engine-contracts.js';
import type { LlmRequest, ToolCallRequest } from '../../src/engines/llm/llm-request.js';

/**
 * A turn in isolation: `runTurn(trigger, engines)` runs machines/turn.machine.ts with the real slot implementations
 * (llm stream, synthesis, transcription) over in-process fake engines, on XState's SimulatedClock, under a parent
 * that records every frame the turn sends. Time passes only when the test says so (`clock.increment(ms)`), so a bound
 * such as the playback wait is asserted exactly, not against the wall clock; `settle()` lets the fakes' promises
 * resolve (it drains the event loop's queue, it does not wait for time).
 */

export interface LlmScript {
  /** The model's text, one delta each. */
  deltas: string[];
  /** Native tool calls at the end of the answer. */
  toolCalls?: ToolCallRequest[];
  /** Fail after the deltas with this message. */
  error?: string;
  /** Never finish: the stream stays open until the turn stops it (its signal aborts). */
  stall?: boolean;
}

export interface FakeLlm extends LlmEngine {
  requests: LlmRequest[];
  /** How many streams were aborted by their actor's stop. */
  aborted: number;
  script: (request: LlmRequest) => LlmScript;
}

export function fakeLlm(script: LlmScript | ((request: LlmRequest) => LlmScript)): FakeLlm {
  const llm: FakeLlm = {
    provider: 'fake_llm',
    toolStyle: 'openai',
    requests: [],
    aborted: 0,
    script: typeof script === 'function' ? script : () => script,
    async stream(request, onText, signal) {
      llm.requests.push(request);
      signal.addEventListener('abort', () => llm.aborted++, { once: true });
      const s = llm.script(request);
      for (const delta of s.deltas) {
        await Promise.resolve();
        signal.throwIfAborted();
        onText(delta);
      }
      if (s.stall) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      if (s.error) throw new Error(s.error);
      return { toolCalls: s.toolCalls ?? [] };
    },
  };
  return llm;
}

export interface FakeTts extends TtsEngine {
  /** Texts asked for, in the order the syntheses started. */
  texts: string[];
  aborted: number;
  /** ms of audio per character of text (default 10). */
  msPerChar: number;
  failWhen?: (text: string) => boolean;
  /** Syntheses of matching texts wait until `release(text)` (or their abort). */
  holdWhen?: (text: string) => boolean;
  release(text: string): void;
}

const SAMPLE_RATE = 16000;

/** A tone of `ms` milliseconds (audible, so not taken for silence). */
export function tone(ms: number): PcmAudio {
  const samples = new Int16Array(Math.max(1, Math.round((ms / 1000) * SAMPLE_RATE)));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / SAMPLE_RATE) * 8000);
  return { sampleRate: SAMPLE_RATE, channels: 1, samples };
}

export function fakeTts(options: Partial<Pick<FakeTts, 'msPerChar' | 'failWhen' | 'holdWhen'>> = {}): FakeTts {
  const held = new Map<string, () => void>();
  const tts: FakeTts = {
    provider: 'fake_tts',
    texts: [],
    aborted: 0,
    msPerChar: 10,
    ...options,
    release(text) {
      held.get(text)?.();
      held.delete(text);
    },
    async synthesize(text, signal) {
      tts.texts.push(text);
      signal.addEventListener('abort', () => tts.aborted++, { once: true });
      if (tts.holdWhen?.(text)) {
        await new Promise<void>((resolve, reject) => {
          held.set(text, resolve);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      } else await Promise.resolve();
      signal.throwIfAborted();
      if (tts.failWhen?.(text)) throw new Error('scripted TTS failure');
      return tone(text.length * tts.msPerChar);
    },
  };
  return tts;
}

export function fakeAsr(text: string): AsrEngine & { calls: number } {
  const asr = {
    provider: 'fake_asr',
    calls: 0,
    async transcribe() {
      asr.calls++;
      return text;
    },
  };
  return asr;
}

export interface RunTurnOptions {
  llm: FakeLlm;
  tts?: FakeTts;
  asr?: AsrEngine;
  /** Any other part of the turn's input (playbackSlackMs, ttsConcurrency, memory, tools…). */
  input?: Partial<TurnInput>;
}

export interface TurnRun {
  clock: SimulatedClock;
  frames: ServerFrame[];
  /** `turn.user-message` contents, in order. */
  userMessages: string[];
  /** `turn.finished` outputs (a turn with `record` asks its parent to record the reply). */
  finished: TurnOutput[];
  /** The turn's output once it is done. */
  output(): TurnOutput | undefined;
  done(): boolean;
  /** The frames as short strings: `control:…`, `full-text:…`, `audio:<display text>`, `tool:<status>:<content>`, or the type. */
  outline(): string[];
  /** The client reported the end of playback (as the session forwards it). */
  playbackComplete(): void;
  /** The parent's history has the reply on disk (`history.saved`). */
  historySaved(): void;
  /** The session left `responding` (interrupt, new input, switch, disconnect): the turn is stopped. */
  stop(): void;
  /** Lets every pending promise of the fakes resolve; time does not move. */
  settle(): Promise<void>;
}

const quietLogger = createLogger({ silent: true });

export function outlineFrames(frames: readonly ServerFrame[]): string[] {
  return frames.map((f) => {
    const frame = f as ServerFrame & { text?: string; status?: string; content?: string; display_text?: { text: string } };
    if (frame.type === 'tool_call_status') return `tool:${frame.status}:${frame.content}`;
    if (frame.type === 'audio') return `audio:${frame.display_text?.text}`;
    if (frame.type === 'control' || frame.type === 'full-text') return `${frame.type}:${frame.text}`;
    return frame.type;
  });
}

/** The turn machine with the real slot implementations (llm stream, synthesis, transcription); engines come with its input. */
export function turnWithSlots() {
  return turnMachine.provide({
    actors: {
      llmStream: createLlmStream(quietLogger),
      transcription: transcriptionMachine.provide({ actors: { transcribe: createTranscribe(quietLogger) } }),
      ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: createSynthesize(quietLogger) } }),
    },
  });
}

/** A turn's input: Mao, text in, the fake engines of `options`, `clock` for its tool status frames. */
export function turnInputFor(trigger: TurnTrigger | string, options: RunTurnOptions, clock: SimulatedClock): TurnInput {
  return {
    clientUid: 'run-turn',
    trigger: typeof trigger === 'string' ? { kind: 'text', text: trigger, images: [] } : trigger,
    speaker: { name: 'Mao', avatar: 'mao.png' },
    emotionMap: { joy: 3 },
    preprocessor: ttsPreprocessorConfigSchema.parse({}),
    fasterFirstResponse: false,
    system: 'You are Mao.',
    memory: [],
    engines: { llm: options.llm, tts: options.tts ?? fakeTts(), asr: options.asr },
    clock,
    ttsConcurrency: 3,
    playbackSlackMs: 1000,
    ...options.input,
  };
}

export function runTurn(trigger: TurnTrigger | string, options: RunTurnOptions): TurnRun {
  const clock = new SimulatedClock();
  const frames: ServerFrame[] = [];
  const userMessages: string[] = [];
  const finished: TurnOutput[] = [];
  let output: TurnOutput | undefined;
  const turn = turnWithSlots();
  const input = turnInputFor(trigger, options, clock);
  const session = setup({ actors: { turn } }).createMachine({
    initial: 'responding',
    states: {
      responding: {
        invoke: { id: 'turn', src: 'turn', input, onDone: { target: 'idle', actions: ({ event }) => (output = event.output as TurnOutput) } },
        on: {
          'turn.frame': { actions: ({ event }) => frames.push((event as unknown as { frame: ServerFrame }).frame) },
          'turn.user-message': { actions: ({ event }) => userMessages.push((event as unknown as { content: string }).content) },
          'turn.finished': { actions: ({ event }) => finished.push((event as unknown as { output: TurnOutput }).output) },
          'history.saved': { actions: sendTo('turn', { type: 'history.saved', ok: true }) },
          'playback.complete': { actions: sendTo('turn', { type: 'playback.complete' }) },
          stop: 'idle',
        },
      },
      idle: {},
    },
  });
  const actor = createActor(session, { clock }).start();
  return {
    clock,
    frames,
    userMessages,
    finished,
    output: () => output,
    done: () => output !== undefined,
    outline: () => outlineFrames(frames),
    playbackComplete: () => actor.send({ type: 'playback.complete' }),
    historySaved: () => actor.send({ type: 'history.saved' }),
    stop: () => actor.send({ type: 'stop' }),
    async settle() {
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
