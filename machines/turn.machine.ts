import { assign, enqueueActions, sendParent } from 'xstate';
import { DEFAULT_ENGINE_DEADLINES, engineName, formatBound } from './engine-deadlines.js';
import { initialSplitter } from '../src/agent/sentence-splitter.js';
import { initialToolJson } from '../src/agent/tool-call-json.js';
import type { ErrorCode } from '../src/protocol/error-codes.js';
import type { TranscriptionOutput } from './transcription.machine.js';
import type { TurnContext, TurnOutput, TurnOutputEvent } from './turn-contract.js';
import { CHAIN_END, CHAIN_START, NEW_MESSAGE } from './turn-ending.js';
import { llmRequest, nothingToAnswer, recallsMemories, userMemoryText } from './turn-prompt.js';
import { listingTools, usingTools, withToolLoop } from './turn-tool-loop.js';
import { frameEvent } from './turn-setup.js';

export type { TurnEngines, TurnInput, TurnOutput, TurnOutputEvent, TurnTools, TurnTrigger } from './turn-contract.js';

/**
 * One conversation turn, invoked by the session while it is `responding`: leaving that state (interrupt, new input,
 * switch-config, disconnect) stops the turn and, with it, the LLM request, every synthesis and the playback wait.
 *
 *   starting → (transcribing) → answering → (recalling) → asking → (listingTools) → thinking ⇄ usingTools
 *     → speaking → awaitingPlayback → finishing → (recording) → ending → done
 *
 * This file is the lifecycle and its deadlines; the contract is turn-contract.ts, the model's text becomes speech in
 * speech-planner.ts, and the tools run in turn-tool-loop.ts.
 *
 * Frames go to the session as `turn.frame`, in the order of docs/protocol.md, 'Turn frames'; every turn that sent
 * `conversation-chain-start` ends with `conversation-chain-end`, whatever failed on the way (docs/upstream-defects.md, U10).
 */

function turnOutput(context: TurnContext): TurnOutput {
  return {
    userText: context.trigger.kind === 'proactive' ? '' : context.userText,
    reply: context.reply,
    spoken: context.spoken,
    playbackTimedOut: context.playbackTimedOut,
  };
}

export const turnMachine = withToolLoop
  .extend({
    actions: {
      /** The user's words enter memory before the model is asked (docs/protocol.md, 'Memory'); a proactive prompt never does. */
      recordUserMessage: enqueueActions(({ context, enqueue }) => {
        if (context.trigger.kind === 'proactive') return;
        enqueue.sendParent({ type: 'turn.user-message', content: userMemoryText(context.userText, context.trigger.images) } satisfies TurnOutputEvent);
      }),
      /** What the recognizer understood is the user's text. */
      takeTranscript: assign((_, text: string) => ({ userText: text })),
      /** A wait on the model ran out: one error naming the engine and the bound (then `finishText` ends the reply). */
      llmTimedOut: sendParent(({ context }, what: string) =>
        frameEvent({ type: 'error', code: 'llm_timeout', message: `Error processing agent response: ${engineName(context.engines.llm, 'the language model')} ${what}` }),
      ),
      /** The model failed: one error (then `finishText` ends the reply with what was said). */
      llmFailed: sendParent((_, failure: { message: string; code?: ErrorCode }) =>
        frameEvent({ type: 'error', code: failure.code ?? 'llm', message: `Error processing agent response: ${failure.message}` }),
      ),
      markPlaybackTimedOut: assign({ playbackTimedOut: true }),
      takeRecalled: assign((_, recalled: string) => ({ recalled })),
      /** The reply is complete: the parent records it and answers `history.saved`. */
      announceFinished: sendParent(({ context }) => ({ type: 'turn.finished', output: turnOutput(context) }) satisfies TurnOutputEvent),
    },
    guards: {
      isVoice: ({ context }) => context.trigger.kind === 'audio',
      transcriptionFailed: (_, output: TranscriptionOutput) => output.error !== null,
      nothingToAnswer: ({ context }) => nothingToAnswer(context),
      recallsMemories: ({ context }) => recallsMemories(context),
      hasToolbox: ({ context }) => context.tools !== undefined,
      /** The model sent a chunk less than its idle bound ago (the clock may have been set back: then it did). */
      spokeWithinIdleBound: ({ context }) => context.clock.now() - context.lastOutputAt < context.deadlines.llmIdleMs,
      anythingSent: ({ context }) => context.framesSent > 0,
      recordsReply: ({ context }) => context.record !== undefined,
    },
    delays: {
      /** The model's first output of a call (each call of a tool round has its own). */
      llmFirstOutput: ({ context }) => context.deadlines.llmFirstOutputMs,
      /** The model's silence between two chunks once it has started: what is left of it since the last chunk. */
      llmIdle: ({ context }) => Math.min(context.deadlines.llmIdleMs, Math.max(0, context.deadlines.llmIdleMs - (context.clock.now() - context.lastOutputAt))),
      /** The bound on the wait for the client's playback (docs/upstream-defects.md, U7): the audio sent plus a slack. */
      playbackDeadline: ({ context }) => Math.round(context.audioMs + context.playbackSlackMs),
      /** Recalling memories is bounded: past it the model is asked without them. */
      recallDeadline: ({ context }) => context.recall?.deadlineMs ?? 0,
      /** A disk that does not answer must not hold the chain open: the reply is still written when it can be. */
      recordDeadline: ({ context }) => context.record?.deadlineMs ?? 0,
    },
  })
  .createMachine({
    id: 'turn',
    context: ({ input }) => ({
      ...input,
      deadlines: input.deadlines ?? DEFAULT_ENGINE_DEADLINES,
      userText: input.trigger.kind === 'text' ? input.trigger.text : '',
      splitter: initialSplitter(),
      reply: '',
      seq: 0,
      spoken: [],
      audioMs: 0,
      framesSent: 0,
      playbackTimedOut: false,
      toolMode: input.tools?.mode ?? 'native',
      toolList: [],
      rounds: [],
      roundText: '',
      pendingCalls: [],
      roundResults: [],
      jsonScan: initialToolJson(),
      speechFailureReported: false,
      lastOutputAt: 0,
      recalled: '',
    }),
    invoke: {
      id: 'tts',
      src: 'ttsPipeline',
      input: ({ context }) => ({
        concurrency: context.ttsConcurrency,
        speaker: context.speaker,
        engine: context.engines.tts,
        synthesisDeadlineMs: context.deadlines.synthesisMs,
      }),
    },
    on: {
      // Payloads arrive from the pipeline already in sentence order.
      'tts.payload': {
        actions: [
          { type: 'reportSpeechFailure', params: ({ event }) => event.error },
          { type: 'countPayload', params: ({ event }) => event },
          { type: 'sendPayload', params: ({ event }) => ({ frame: event.frame, said: event.said }) },
        ],
      },
      'tts.passthrough': { actions: { type: 'sendFrame', params: ({ event }) => event.frame } },
    },
    initial: 'starting',
    states: {
      starting: {
        entry: [
          { type: 'sendFrame', params: CHAIN_START },
          { type: 'sendFrame', params: { type: 'full-text', text: 'Thinking...' } },
        ],
        always: [{ guard: 'isVoice', target: 'transcribing' }, { target: 'answering' }],
      },
      transcribing: {
        // The recognizer runs, bounded, in its own actor (transcription.machine.ts); leaving this state stops it.
        invoke: {
          src: 'transcription',
          input: ({ context }) => ({
            engine: context.engines.asr,
            unavailable: context.asrUnavailable,
            samples: context.trigger.kind === 'audio' ? context.trigger.samples : new Float32Array(),
            clientUid: context.clientUid,
            deadlineMs: context.deadlines.transcriptionMs,
          }),
          onDone: [
            // It failed or overran its bound: one error, and the turn ends without asking the model.
            {
              guard: { type: 'transcriptionFailed', params: ({ event }) => event.output },
              target: 'finishing',
              actions: { type: 'sendFrame', params: ({ event }) => event.output.error! },
            },
            {
              target: 'answering',
              actions: [
                { type: 'takeTranscript', params: ({ event }) => event.output.text },
                { type: 'sendFrame', params: ({ event }) => ({ type: 'user-input-transcription', text: event.output.text }) },
              ],
            },
          ],
        },
      },
      answering: {
        always: [
          // Nothing was said (or understood): the turn ends without asking the model.
          { guard: 'nothingToAnswer', target: 'finishing' },
          { guard: 'recallsMemories', target: 'recalling', actions: 'recordUserMessage' },
          { target: 'asking', actions: 'recordUserMessage' },
        ],
      },
      /** Long-term memory: what the character remembers of the user's words, within its bound; nothing on failure. */
      recalling: {
        invoke: {
          src: 'recallMemories',
          input: ({ context }) => ({ ...context.recall!, clientUid: context.clientUid, query: context.userText }),
          onDone: { target: 'asking', actions: { type: 'takeRecalled', params: ({ event }) => event.output } },
          onError: 'asking',
        },
        after: { recallDeadline: 'asking' },
      },
      asking: {
        always: [{ guard: 'hasToolbox', target: 'listingTools' }, { target: 'thinking' }],
      },
      listingTools,
      thinking: {
        always: { guard: 'callsTools', target: 'usingTools' },
        invoke: {
          id: 'llm',
          src: 'llmStream',
          input: ({ context }) => ({ engine: context.engines.llm, request: llmRequest(context), clientUid: context.clientUid }),
        },
        // Each wait on the model is bounded: its first output, then the silence between two chunks. On expiry the
        // request is aborted (leaving the state stops it) and the turn ends with what was said.
        initial: 'awaitingFirstOutput',
        states: {
          awaitingFirstOutput: {
            on: { 'llm.delta': { target: 'streaming', actions: { type: 'takeDelta', params: ({ event }) => event.text } } },
            after: {
              llmFirstOutput: {
                target: '#turn.speaking',
                actions: [{ type: 'llmTimedOut', params: ({ context }) => `sent nothing within ${formatBound(context.deadlines.llmFirstOutputMs)}` }, 'finishText'],
              },
            },
          },
          streaming: {
            // Tools in the prompt: once the JSON of a tool call is complete (pendingCalls), the rest of the answer is not wanted.
            on: { 'llm.delta': { actions: { type: 'takeDelta', params: ({ event }) => event.text } } },
            // The silence bound counts from the last chunk. A chunk only notes its time (re-arming a timer for each
            // of them was a third of a chunk's cost, on the path to the first audio): when the timer fires, a stream
            // that spoke since is given the rest of its bound, counted from its last chunk.
            after: {
              llmIdle: [
                { guard: 'spokeWithinIdleBound', target: 'streaming', reenter: true },
                {
                  target: '#turn.speaking',
                  actions: [{ type: 'llmTimedOut', params: ({ context }) => `stopped sending for ${formatBound(context.deadlines.llmIdleMs)}; the reply ends here` }, 'finishText'],
                },
              ],
            },
          },
        },
        on: {
          'llm.done': [
            { guard: 'nativeCalls', actions: { type: 'takeNativeCalls', params: ({ event }) => event.toolCalls ?? [] } },
            { target: 'speaking', actions: 'finishText' },
          ],
          'llm.error': [
            // Ollama and friends refuse `tools` for some models: ask again with the tools in the prompt (docs/upstream-defects.md, U20).
            { guard: 'refusedTools', target: 'thinking', reenter: true, actions: 'useToolsInPrompt' },
            { target: 'speaking', actions: [{ type: 'llmFailed', params: ({ event }) => event }, 'finishText'] },
          ],
        },
      },
      usingTools,
      speaking: {
        on: {
          'tts.drained': [{ guard: 'anythingSent', target: 'awaitingPlayback' }, { target: 'finishing' }],
        },
      },
      awaitingPlayback: {
        // Sent once, after the last audio frame (docs/upstream-defects.md, U11); only a playback-complete from now on counts (U12).
        entry: { type: 'sendFrame', params: { type: 'backend-synth-complete' } },
        on: { 'playback.complete': 'finishing' },
        after: { playbackDeadline: { target: 'finishing', actions: 'markPlaybackTimedOut' } },
      },
      finishing: {
        entry: { type: 'sendFrame', params: NEW_MESSAGE },
        always: [{ guard: 'recordsReply', target: 'recording' }, { target: 'ending' }],
      },
      /** The chain ends once the reply is on disk: a client told the turn ended never loses it to a crash. */
      recording: {
        entry: 'announceFinished',
        on: { 'history.saved': 'ending' },
        after: { recordDeadline: 'ending' },
      },
      ending: {
        entry: { type: 'sendFrame', params: CHAIN_END },
        always: 'done',
      },
      done: { type: 'final' },
    },
    output: ({ context }) => turnOutput(context),
  });
