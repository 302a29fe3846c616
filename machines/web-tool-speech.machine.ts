import { assign, enqueueActions, fromCallback, fromPromise, sendTo, setup, type EventObject } from 'xstate';
import type { TtsEngine } from './engine-contracts.js';
import { engineName, formatBound } from './engine-deadlines.js';
import type {
  CacheAdded,
  SpeakToFileInput,
  SpeechFrame,
  SpeechSocketCommand,
  SpeechSocketEvent,
  SpeechSocketInput,
  SpokenFile,
} from './web-tool-contract.js';
import type { ClientSocket } from './socket-contract.js';
import { errorText } from './error-text.js';

/**
 * One `/tts-ws` connection, a child of the web tool: each text it receives (cut into sentences by its socket) is
 * spoken one sentence at a time, each sentence into an audio file of the cache folder, and answered as upstream
 * does: `{"status":"partial","audioPath":"cache/<file>","text"}` per sentence, then `{"status":"complete"}`, or
 * `{"status":"error","message"}` when a sentence fails or outlasts its deadline (the rest of that text is dropped).
 * Texts that arrive meanwhile wait, a bounded number of them. The connection's close ends it, and stopping it stops
 * the sentence being spoken.
 */

export interface SpeechInput {
  socket: ClientSocket;
  engine?: TtsEngine;
  /** Why there is no engine (said to each text). */
  unavailable?: string;
  deadlineMs: number;
  maxWaiting: number;
}

interface SpeechContext extends SpeechInput {
  sentences: string[];
  index: number;
  /** Texts waiting behind the one being spoken. */
  waiting: string[][];
}

type SpeechEvent = SpeechSocketEvent;

const frame = (f: SpeechFrame): SpeechSocketCommand => ({ type: 'speech.send', frame: f });

export const webToolSpeechMachine = setup({
  types: {
    context: {} as SpeechContext,
    events: {} as SpeechEvent,
    input: {} as SpeechInput,
  },
  actors: {
    /** The connection: reports `speech.text` and `speech.closed`, writes `speech.send` frames. */
    speechSocket: fromCallback<SpeechSocketCommand, SpeechSocketInput, EventObject>(() => {
      throw new Error('actor "speechSocket" must be provided with machine.provide()');
    }),
    /** One sentence → a file of the cache folder; its signal aborts the engine's request. */
    speakToFile: fromPromise<SpokenFile | null, SpeakToFileInput>(() => {
      throw new Error('actor "speakToFile" must be provided with machine.provide()');
    }),
  },
  delays: {
    /** One sentence spoken (system_config.tts_timeout_seconds). */
    synthesis: ({ context }) => context.deadlineMs,
  },
  guards: {
    hasEngine: ({ context }) => context.engine !== undefined,
    moreSentences: ({ context }) => context.index + 1 < context.sentences.length,
    hasWaiting: ({ context }) => context.waiting.length > 0,
    roomToWait: ({ context }) => context.waiting.length < context.maxWaiting,
  },
  actions: {
    begin: assign({ sentences: ({ event }) => (event as Extract<SpeechEvent, { type: 'speech.text' }>).sentences, index: 0 }),
    takeWaiting: assign({ sentences: ({ context }) => context.waiting[0]!, waiting: ({ context }) => context.waiting.slice(1), index: 0 }),
    wait: assign({ waiting: ({ context, event }) => [...context.waiting, (event as Extract<SpeechEvent, { type: 'speech.text' }>).sentences] }),
    advance: assign({ index: ({ context }) => context.index + 1 }),
    /** The sentence's file, to its client and to the cache keeper; a sentence with nothing to hear gets no frame. */
    deliver: enqueueActions(({ context, event, enqueue }) => {
      const spoken = (event as unknown as { output: SpokenFile | null }).output;
      if (!spoken) return;
      enqueue.sendParent({ type: 'cache.added', name: spoken.name, bytes: spoken.bytes } satisfies CacheAdded);
      enqueue.sendTo('socket', frame({ status: 'partial', audioPath: `cache/${spoken.name}`, text: context.sentences[context.index]! }));
    }),
    complete: sendTo('socket', frame({ status: 'complete' })),
    failed: sendTo('socket', ({ event }) => {
      const error = (event as unknown as { error: unknown }).error;
      return frame({ status: 'error', message: errorText(error) });
    }),
    overdue: sendTo('socket', ({ context }) =>
      frame({ status: 'error', message: `${engineName(context.engine, 'the speech engine')} did not answer within ${formatBound(context.deadlineMs)}` }),
    ),
    unavailable: sendTo('socket', ({ context }) => frame({ status: 'error', message: context.unavailable ?? 'no speech engine is configured' })),
    tooMany: sendTo('socket', ({ context }) =>
      frame({ status: 'error', message: `too many texts are waiting to be spoken (at most ${context.maxWaiting}); send this one when they are done` }),
    ),
  },
}).createMachine({
  id: 'webToolSpeech',
  context: ({ input }) => ({ ...input, sentences: [], index: 0, waiting: [] }),
  invoke: { id: 'socket', src: 'speechSocket', input: ({ context }) => ({ socket: context.socket }) },
  initial: 'idle',
  on: {
    'speech.closed': '.closed',
  },
  states: {
    idle: {
      on: {
        'speech.text': [{ guard: 'hasEngine', target: 'speaking', actions: 'begin' }, { actions: 'unavailable' }],
      },
    },
    speaking: {
      on: {
        'speech.text': [{ guard: 'roomToWait', actions: 'wait' }, { actions: 'tooMany' }],
      },
      initial: 'sentence',
      states: {
        sentence: {
          invoke: {
            id: 'synthesis',
            src: 'speakToFile',
            input: ({ context }) => ({ engine: context.engine!, text: context.sentences[context.index]! }),
            onDone: [
              { guard: 'moreSentences', target: 'sentence', reenter: true, actions: ['deliver', 'advance'] },
              { target: '#webToolSpeech.next', actions: ['deliver', 'complete'] },
            ],
            onError: { target: '#webToolSpeech.next', actions: 'failed' },
          },
          after: {
            synthesis: { target: '#webToolSpeech.next', actions: 'overdue' },
          },
        },
      },
    },
    next: {
      always: [{ guard: 'hasWaiting', target: 'speaking', actions: 'takeWaiting' }, { target: 'idle' }],
    },
    closed: { type: 'final' },
  },
});
