import { assign, enqueueActions, fromPromise, sendParent, setup } from 'xstate';
import { DEFAULT_ENGINE_DEADLINES, engineName, formatBound } from './engine-deadlines.js';
import type { AudioFrame, ServerFrame } from '../src/protocol/server-frames.js';
import { emptyIdPool, releaseChild, takeId, type IdPool } from './id-pool.js';
import type { SynthesizeInput, TtsEngine } from './engine-contracts.js';

/**
 * Speech for one reply: sentences are synthesised in parallel (at most `concurrency` at once, each a `synthesize`
 * child whose stop aborts it) and delivered to the parent strictly in sentence order as `tts.payload`. After
 * `tts.end`, once the last payload is out, it sends `tts.drained` and finishes. Other frames that belong between two
 * sentences (tool status) take a sequence number too and are delivered in their place as `tts.passthrough`. Stopping the pipeline (the turn
 * ends, is interrupted, the session leaves) stops every synthesis in flight.
 *
 * Each synthesis is bounded (`synthesis`, a named delay). The first one over its bound stops every synthesis in
 * flight and sends one `error` frame; that sentence and every later one of the reply are delivered silent (their
 * text is still shown), so a hung engine costs one bound per reply, not one per sentence.
 */

export interface SpeechJob {
  seq: number;
  /** `display_text.text`. */
  display: string;
  /** The sentence as the model wrote it (history, memory); defaults to `display`. */
  said?: string;
  /** What to speak; '' makes a silent payload without synthesis. */
  speech: string;
  expressions: Array<number | string>;
}

export interface SynthResult {
  /** Base64 WAV, or null when the engine produced nothing audible. */
  audio: string | null;
  volumes: number[];
  durationMs: number;
  /** Why the engine produced nothing (what it answered), when it failed. */
  error?: string;
}

export interface PipelineInput {
  concurrency: number;
  speaker: { name: string; avatar: string };
  /** The engine each synthesis uses. */
  engine: TtsEngine;
  /** The bound on one synthesis (default: DEFAULT_ENGINE_DEADLINES.synthesisMs). */
  synthesisDeadlineMs?: number;
}

type Ready = { frame: AudioFrame; durationMs: number; said: string; error?: string } | { passthrough: ServerFrame };

export interface PipelineContext extends PipelineInput {
  queue: SpeechJob[];
  running: Record<string, SpeechJob>;
  ids: IdPool;
  ready: Record<number, Ready>;
  next: number;
  total: number | null;
  /** A synthesis overran its bound: the rest of the reply is silent. */
  stalled: boolean;
}

export type PipelineEvent =
  | { type: 'tts.sentence'; job: SpeechJob }
  | { type: 'tts.end'; total: number }
  | { type: 'tts.frame'; seq: number; frame: ServerFrame }
  | { type: 'tts.overdue'; actorId: string; seq: number }
  | { type: `xstate.done.actor.synth.${number}`; actorId: string; output: SynthResult }
  | { type: `xstate.error.actor.synth.${number}`; actorId: string; error: unknown };

/** Sent to the parent. */
export type PipelineOutputEvent =
  | { type: 'tts.payload'; frame: AudioFrame; durationMs: number; said: string; error?: string }
  | { type: 'tts.passthrough'; frame: ServerFrame }
  | { type: 'tts.drained' };

export function audioFrame(job: SpeechJob, result: SynthResult | null, speaker: { name: string; avatar: string }): AudioFrame {
  return {
    type: 'audio',
    audio: result?.audio ?? null,
    volumes: result?.audio ? result.volumes : [],
    slice_length: 20,
    display_text: { text: job.display, name: speaker.name, avatar: speaker.avatar },
    actions: job.expressions.length > 0 ? { expressions: job.expressions } : {},
    forwarded: false,
  };
}

export const ttsPipelineMachine = setup({
  types: {
    context: {} as PipelineContext,
    events: {} as PipelineEvent,
    input: {} as PipelineInput,
  },
  actors: {
    synthesize: fromPromise<SynthResult, SynthesizeInput>(() => {
      throw new Error('actor "synthesize" must be provided with machine.provide()');
    }),
  },
  actions: {
    /** Starts queued syntheses up to the concurrency limit, then delivers every payload that is next in order. */
    advance: enqueueActions(({ context, enqueue }) => {
      const queue = [...context.queue];
      const running = { ...context.running };
      let ids = context.ids;
      while (queue.length > 0 && Object.keys(running).length < context.concurrency) {
        const job = queue.shift()!;
        const [n, nextIds] = takeId(ids);
        ids = nextIds;
        running[`synth.${n}`] = job;
        enqueue.spawnChild('synthesize', { id: `synth.${n}`, input: { text: job.speech, engine: context.engine } });
        enqueue.raise({ type: 'tts.overdue', actorId: `synth.${n}`, seq: job.seq }, { id: `overdue.synth.${n}`, delay: 'synthesis' });
      }
      const ready = { ...context.ready };
      let next = context.next;
      while (ready[next]) {
        const entry = ready[next]!;
        enqueue.sendParent(
          ('passthrough' in entry
            ? { type: 'tts.passthrough', frame: entry.passthrough }
            : { type: 'tts.payload', frame: entry.frame, durationMs: entry.durationMs, said: entry.said, ...(entry.error ? { error: entry.error } : {}) }) satisfies PipelineOutputEvent,
        );
        delete ready[next];
        next++;
      }
      enqueue.assign({ queue, running, ids, ready, next });
    }),
    /** Queues a sentence for synthesis, or makes it ready silent at once (nothing to speak, or the reply has stalled). */
    queueSentence: enqueueActions(({ context, enqueue }, job: SpeechJob) => {
      if (job.speech && !context.stalled) enqueue.assign({ queue: [...context.queue, job] });
      else enqueue.assign({ ready: { ...context.ready, [job.seq]: { frame: audioFrame(job, null, context.speaker), durationMs: 0, said: job.said ?? job.display } } });
    }),
    /** Puts a frame that belongs between two sentences in its place. */
    placeFrame: assign({ ready: ({ context }, params: { seq: number; frame: ServerFrame }) => ({ ...context.ready, [params.seq]: { passthrough: params.frame } }) }),
    /** Stops every synthesis in flight and sends one error; every sentence in flight, queued or still to come is silent. */
    silenceRest: enqueueActions(({ context, enqueue }) => {
      const ready = { ...context.ready };
      let ids = context.ids;
      for (const [actorId, job] of Object.entries(context.running)) {
        enqueue.cancel(`overdue.${actorId}`);
        ids = releaseChild(enqueue, ids, actorId);
        ready[job.seq] = { frame: audioFrame(job, null, context.speaker), durationMs: 0, said: job.said ?? job.display };
      }
      for (const job of context.queue) ready[job.seq] = { frame: audioFrame(job, null, context.speaker), durationMs: 0, said: job.said ?? job.display };
      const bound = formatBound(context.synthesisDeadlineMs ?? DEFAULT_ENGINE_DEADLINES.synthesisMs);
      const message = `Speech synthesis (${engineName(context.engine, 'the speech engine')}) did not finish a sentence within ${bound}; the rest of this reply is shown without voice`;
      enqueue.sendParent({ type: 'tts.passthrough', frame: { type: 'error', code: 'tts_timeout', message } } satisfies PipelineOutputEvent);
      enqueue.assign({ running: {}, queue: [], ids, ready, stalled: true });
    }),
    /** Notes how many sentences and frames the reply has, once it is complete. */
    noteTotal: assign({ total: (_, total: number) => total }),
    /** A synthesis finished: its payload is ready in its place, and its child and bound are done with. */
    keepSynthesis: enqueueActions(({ context, enqueue }, params: { actorId: string; result: SynthResult }) => {
      const job = context.running[params.actorId]!;
      const { [params.actorId]: _finished, ...running } = context.running;
      const entry = { frame: audioFrame(job, params.result, context.speaker), durationMs: params.result.durationMs, said: job.said ?? job.display, error: params.result.error };
      enqueue.cancel(`overdue.${params.actorId}`);
      enqueue.assign({ running, ids: releaseChild(enqueue, context.ids, params.actorId), ready: { ...context.ready, [job.seq]: entry } });
    }),
    /** A synthesis failed: its sentence is ready silent in its place, and its child and bound are done with. */
    silenceFailed: enqueueActions(({ context, enqueue }, params: { actorId: string }) => {
      const job = context.running[params.actorId]!;
      const { [params.actorId]: _failed, ...running } = context.running;
      enqueue.cancel(`overdue.${params.actorId}`);
      enqueue.assign({
        running,
        ids: releaseChild(enqueue, context.ids, params.actorId),
        ready: { ...context.ready, [job.seq]: { frame: audioFrame(job, null, context.speaker), durationMs: 0, said: job.said ?? job.display } },
      });
    }),
    /** Tells the parent the last payload is out. */
    reportDrained: sendParent({ type: 'tts.drained' } satisfies PipelineOutputEvent),
  },
  delays: {
    synthesis: ({ context }) => context.synthesisDeadlineMs ?? DEFAULT_ENGINE_DEADLINES.synthesisMs,
  },
  guards: {
    allDelivered: ({ context }) => context.total !== null && context.next >= context.total,
    /** The overdue synthesis is still the one running on that actor (not a later sentence that reused it). */
    stillRunning: ({ context, event }) => event.type === 'tts.overdue' && context.running[event.actorId]?.seq === event.seq,
  },
}).createMachine({
  id: 'ttsPipeline',
  context: ({ input }) => ({ ...input, queue: [], running: {}, ids: emptyIdPool(), ready: {}, next: 0, total: null, stalled: false }),
  initial: 'running',
  states: {
    running: {
      always: { guard: 'allDelivered', target: 'drained' },
      on: {
        'tts.sentence': { actions: [{ type: 'queueSentence', params: ({ event }) => event.job }, 'advance'] },
        'tts.frame': { actions: [{ type: 'placeFrame', params: ({ event }) => ({ seq: event.seq, frame: event.frame }) }, 'advance'] },
        // A synthesis overran its bound: one error, then every sentence in flight or still to come is silent.
        'tts.overdue': { guard: 'stillRunning', actions: ['silenceRest', 'advance'] },
        'tts.end': { actions: { type: 'noteTotal', params: ({ event }) => event.total } },
        'xstate.done.actor.synth.*': {
          actions: [{ type: 'keepSynthesis', params: ({ event }) => ({ actorId: event.actorId, result: event.output }) }, 'advance'],
        },
        // A synthesis that failed still yields its sentence, as a silent payload (the text is shown).
        'xstate.error.actor.synth.*': { actions: [{ type: 'silenceFailed', params: ({ event }) => ({ actorId: event.actorId }) }, 'advance'] },
      },
    },
    drained: {
      type: 'final',
      entry: 'reportDrained',
    },
  },
});
