import { assign, enqueueActions, fromCallback, fromPromise, sendParent, setup, type EventObject, type ParameterizedObject } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { LlmStreamInput } from './engine-contracts.js';
import { deltaPlan, finishPlan, flushPlan, type SpeechPlan } from './speech-planner.js';
import { transcriptionMachine } from './transcription.machine.js';
import { ttsPipelineMachine, type PipelineOutputEvent } from './tts-pipeline.machine.js';
import type { RecallRequest, TurnContext, TurnEvent, TurnInput, TurnOutput, TurnOutputEvent } from './turn-contract.js';
import { toolCallActor, toolListActor } from './turn-toolbox.js';

/**
 * The turn machine's types, its actors and the actions every part of it uses: frames to the parent, and the model's
 * text through the speech planner to the `tts` child. The tool loop (turn-tool-loop.ts) adds its own with `extend`,
 * and turn.machine.ts builds the lifecycle from that.
 */

/** A frame for the parent. */
export const frameEvent = (frame: ServerFrame): TurnOutputEvent => ({ type: 'turn.frame', frame });

/** An action that carries out a speech plan: its events to the TTS pipeline, its update to the context. */
function speak<TParams extends ParameterizedObject['params']>(plan: (context: TurnContext, params: TParams) => SpeechPlan) {
  return enqueueActions<TurnContext, TurnEvent, TParams, TurnEvent, never, never, never, never>(({ context, enqueue }, params) => {
    const { events, update } = plan(context, params);
    for (const event of events) enqueue.sendTo('tts', event);
    enqueue.assign(update);
  });
}

/**
 * An action that puts frames that belong between two sentences (tool status) through the pipeline, to keep their
 * place, each with the next sequence number; and updates the context.
 */
export function placeFrames<TParams extends ParameterizedObject['params']>(
  plan: (context: TurnContext, params: TParams) => { frames: ServerFrame[]; update?: Partial<TurnContext> },
) {
  return enqueueActions<TurnContext, TurnEvent, TParams, TurnEvent, never, never, never, never>(({ context, enqueue }, params) => {
    const { frames, update } = plan(context, params);
    let seq = context.seq;
    for (const frame of frames) enqueue.sendTo('tts', { type: 'tts.frame', seq: seq++, frame });
    enqueue.assign({ ...update, seq });
  });
}

export const turnSetup = setup({
  types: {
    context: {} as TurnContext,
    events: {} as TurnEvent,
    input: {} as TurnInput,
    output: {} as TurnOutput,
  },
  actors: {
    ttsPipeline: ttsPipelineMachine,
    /** Streams the model's reply as `llm.delta` … `llm.done` | `llm.error`; stopping it aborts the request. */
    llmStream: fromCallback<EventObject, LlmStreamInput, EventObject>(() => {
      throw new Error('actor "llmStream" must be provided with machine.provide()');
    }),
    /** The user's voice transcribed, bounded (its `transcribe` slot is provided from src/). */
    transcription: transcriptionMachine,
    toolList: toolListActor,
    toolCall: toolCallActor,
    /** Long-term memory: the system text of what is recalled for the user's words ('' for nothing); never fails a turn. */
    recallMemories: fromPromise<string, RecallRequest>(() => {
      throw new Error('actor "recallMemories" must be provided with machine.provide()');
    }),
  },
  actions: {
    sendFrame: sendParent((_, frame: ServerFrame) => frameEvent(frame)),
    /** An audio frame, with its sentence as the model wrote it. */
    sendPayload: sendParent((_, payload: { frame: ServerFrame; said: string }) => ({ type: 'turn.frame', ...payload }) satisfies TurnOutputEvent),
    /** A model delta: spoken at once, except (tools in the prompt) anything that may be a tool call's JSON. */
    takeDelta: speak((context, text: string) => deltaPlan(context, text, context.clock.now())),
    /** The model's answer is complete: held-back text is spoken, the splitter flushed, the pipeline told the total. */
    finishText: speak((context) => finishPlan(context)),
    /** Sentences written before the tool calls are spoken now, not after the tools ran. */
    flushSentences: speak((context) => flushPlan(context)),
    /** A sentence's synthesis failed: one error frame per turn, however many sentences fail. */
    reportSpeechFailure: enqueueActions(({ context, enqueue }, error: string | undefined) => {
      if (!error || context.speechFailureReported) return;
      enqueue.sendParent(frameEvent({ type: 'error', code: 'tts', message: `Speech synthesis failed: ${error}` }));
      enqueue.assign({ speechFailureReported: true });
    }),
    /** An audio frame sent: its length counts towards the playback bound, its sentence towards the history. */
    countPayload: assign(({ context }, payload: Extract<PipelineOutputEvent, { type: 'tts.payload' }>) => ({
      framesSent: context.framesSent + 1,
      audioMs: context.audioMs + payload.durationMs,
      spoken: [...context.spoken, payload.said],
    })),
  },
});
