import { assign, enqueueActions, fromCallback, sendParent, setup, type EventObject } from 'xstate';
import { detect, joinWindows, QUIET, splitWindows, type DetectorState } from './speech-detector.js';
import {
  VAD_MAX_BACKLOG_SAMPLES,
  VAD_WINDOW,
  type SpeechProbabilityCommand,
  type SpeechProbabilityInput,
  type VoiceDetectionEvent,
  type VoiceDetectionInput,
  type VoiceDetectionOutputEvent,
} from './voice-detection-contract.js';
import { ASR_SAMPLE_RATE } from './engine-contracts.js';

/**
 * Server-side voice detection for one session (`raw-audio-data`): the audio is cut into windows, the windows are
 * judged by the `speechProbability` slot (Silero, off the event loop), and upstream's detector (speech-detector.ts)
 * turns the verdicts into `vad.speech-start` and `vad.utterance` for the session.
 *
 *   dormant ──audio──▶ listening (waiting ⇄ judging) ──failure──▶ failed ──retryMs──▶ dormant
 *
 * Nothing is loaded until a client sends raw audio. One batch is judged at a time; audio that arrives meanwhile waits
 * (bounded: VAD_MAX_BACKLOG_SAMPLES). The session invokes it in `active`, so a switch or a disconnect stops it and
 * its slot with it.
 */

export interface VoiceDetectionContext extends VoiceDetectionInput {
  detector: DetectorState;
  /** The part window left from the last frame. */
  carry: Float32Array;
  /** Whole windows waiting to be judged. */
  backlog: Float32Array[];
  /** The windows being judged now. */
  judging: Float32Array[];
}

const notProvided = () => {
  throw new Error('actor "speechProbability" must be provided with machine.provide()');
};

const seconds = (samples: number) => Math.round(samples / ASR_SAMPLE_RATE);

export const voiceDetectionMachine = setup({
  types: {
    context: {} as VoiceDetectionContext,
    events: {} as VoiceDetectionEvent,
    input: {} as VoiceDetectionInput,
  },
  actors: {
    /** Judges windows of one stream of audio; its stop releases the stream. */
    speechProbability: fromCallback<SpeechProbabilityCommand, SpeechProbabilityInput, EventObject>(notProvided),
  },
  actions: {
    /** The frame's whole windows join the backlog; a backlog past its bound is dropped, and the session told. */
    takeAudio: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'vad.audio') return;
      const { windows, carry } = splitWindows(context.carry, event.samples);
      const backlog = [...context.backlog, ...windows];
      if (backlog.length * VAD_WINDOW > VAD_MAX_BACKLOG_SAMPLES) {
        enqueue.assign({ backlog: [], carry: new Float32Array(0), detector: QUIET });
        enqueue.sendParent({ type: 'vad.dropped', reason: 'behind', seconds: seconds(backlog.length * VAD_WINDOW) } satisfies VoiceDetectionOutputEvent);
        return;
      }
      enqueue.assign({ backlog, carry });
    }),
    judgeBacklog: enqueueActions(({ context, enqueue }) => {
      enqueue.sendTo('probability', { type: 'probability.windows', windows: joinWindows(context.backlog) } satisfies SpeechProbabilityCommand);
      enqueue.assign({ judging: context.backlog, backlog: [] });
    }),
    /** The verdicts run the detector; what it found goes to the session. */
    detect: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'probability.result') return;
      const { state, outputs } = detect(context.detector, context.settings, context.maxUtteranceSamples, context.judging, event.probs);
      enqueue.assign({ detector: state, judging: [] });
      for (const output of outputs) {
        if (output.type === 'speech-start') enqueue.sendParent({ type: 'vad.speech-start' } satisfies VoiceDetectionOutputEvent);
        else if (output.type === 'utterance') enqueue.sendParent({ type: 'vad.utterance', samples: output.samples } satisfies VoiceDetectionOutputEvent);
        else enqueue.sendParent({ type: 'vad.dropped', reason: 'too-long', seconds: seconds(context.maxUtteranceSamples) } satisfies VoiceDetectionOutputEvent);
      }
    }),
    reportFailure: sendParent((_, message: string): VoiceDetectionOutputEvent => ({ type: 'vad.failed', message })),
    /** After a failure: no audio is kept, the detector starts over. */
    forget: assign({ detector: QUIET, carry: new Float32Array(0), backlog: [], judging: [] }),
  },
  guards: {
    hasBacklog: ({ context }) => context.backlog.length > 0,
    /** One verdict per window judged (anything else is a broken slot). */
    answersAll: ({ context, event }) => event.type === 'probability.result' && event.probs.length === context.judging.length,
  },
  delays: {
    answer: ({ context }) => context.answerMs,
    retry: ({ context }) => context.retryMs,
  },
}).createMachine({
  id: 'voiceDetection',
  context: ({ input }) => ({ ...input, detector: QUIET, carry: new Float32Array(0), backlog: [], judging: [] }),
  initial: 'dormant',
  states: {
    /** No raw audio yet: nothing is loaded. */
    dormant: {
      on: { 'vad.audio': { target: 'listening', actions: 'takeAudio' } },
    },
    listening: {
      invoke: {
        id: 'probability',
        src: 'speechProbability',
        input: ({ context }) => ({ modelPath: context.modelPath, threshold: context.settings.probThreshold }),
      },
      initial: 'waiting',
      on: {
        'vad.audio': { actions: 'takeAudio' },
        'probability.failed': { target: 'failed', actions: { type: 'reportFailure', params: ({ event }) => event.message } },
      },
      states: {
        waiting: {
          always: { guard: 'hasBacklog', target: 'judging' },
        },
        judging: {
          entry: 'judgeBacklog',
          on: {
            'probability.result': [
              { guard: 'answersAll', target: 'waiting', actions: 'detect' },
              { target: '#voiceDetection.failed', actions: { type: 'reportFailure', params: 'the speech detector answered for the wrong number of windows' } },
            ],
          },
          after: {
            answer: {
              target: '#voiceDetection.failed',
              actions: { type: 'reportFailure', params: ({ context }) => `the speech detector did not answer within ${Math.round(context.answerMs / 1000)} s` },
            },
          },
        },
      },
    },
    /** Told once; raw audio is ignored until the model is tried again. */
    failed: {
      entry: 'forget',
      after: { retry: 'dormant' },
    },
  },
});

