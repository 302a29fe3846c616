import { assign, fromPromise, setup } from 'xstate';
import { engineName, formatBound } from './engine-deadlines.js';
import type { TranscribeInput } from './engine-contracts.js';

/**
 * One utterance transcribed, bounded: the one definition of "transcribing" for a turn and for a group conversation.
 * The recognizer (`transcribe`, provided from src/) runs until it answers, fails, or the `transcription` delay
 * passes; stopping this actor (an interrupt, a switch, a disconnect) aborts it. It always ends with an output: the
 * text, or the error frame the client is to get.
 */

/** What the `transcribe` slot takes (engine-contracts.ts), and the bound on it. */
export interface TranscriptionInput extends TranscribeInput {
  deadlineMs: number;
}

/** What was understood (maybe nothing), or the error frame the client is to get (then `text` is ''). */
export interface TranscriptionOutput {
  text: string;
  error: { type: 'error'; code: 'asr' | 'asr_timeout'; message: string } | null;
}

interface TranscriptionContext extends TranscriptionInput {
  result: TranscriptionOutput | null;
}

export const transcriptionMachine = setup({
  types: {
    context: {} as TranscriptionContext,
    input: {} as TranscriptionInput,
    output: {} as TranscriptionOutput,
  },
  actors: {
    transcribe: fromPromise<string, TranscribeInput>(() => {
      throw new Error('actor "transcribe" must be provided with machine.provide()');
    }),
  },
  delays: {
    /** One transcription of the user's voice (system_config.asr_timeout_seconds). */
    transcription: ({ context }) => context.deadlineMs,
  },
  actions: {
    /** The recognizer answered: its text is the result. */
    keepText: assign({ result: (_, text: string) => ({ text, error: null }) }),
    /** The recognizer failed: the result is an `asr` error frame saying why. */
    noteFailure: assign({
      result: (_, { error }: { error: unknown }) => ({
        text: '',
        error: { type: 'error', code: 'asr', message: `Speech recognition failed: ${(error as Error)?.message ?? String(error)}` },
      }),
    }),
    /** The recognizer did not answer in time: the result is an `asr_timeout` error frame naming it and the bound. */
    noteTimeout: assign({
      result: ({ context }) => ({
        text: '',
        error: {
          type: 'error',
          code: 'asr_timeout',
          message: `Speech recognition failed: ${engineName(context.engine, 'the speech recognizer')} did not answer within ${formatBound(context.deadlineMs)}`,
        },
      }),
    }),
  },
}).createMachine({
  id: 'transcription',
  context: ({ input }) => ({ ...input, result: null }),
  initial: 'recognizing',
  states: {
    recognizing: {
      invoke: {
        src: 'transcribe',
        input: ({ context }) => ({ engine: context.engine, unavailable: context.unavailable, samples: context.samples, clientUid: context.clientUid }),
        onDone: { target: 'done', actions: { type: 'keepText', params: ({ event }) => event.output } },
        onError: { target: 'done', actions: { type: 'noteFailure', params: ({ event }) => ({ error: event.error }) } },
      },
      after: {
        transcription: { target: 'done', actions: 'noteTimeout' },
      },
    },
    done: { type: 'final' },
  },
  output: ({ context }) => context.result!,
});
