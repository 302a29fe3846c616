import { conversationSetup } from './group-conversation-setup.js';
import { DEFAULT_ENGINE_DEADLINES } from './engine-deadlines.js';

export type { ConversationEvent, ConversationInput } from './group-protocol.js';

/**
 * One group conversation, invoked by its group while it is `conversing`: the members' characters answer in turn,
 * each turn a `turn` actor of this machine (so an interrupt, or the group dissolving, stops it with everything it
 * runs). It ends after `rounds` rounds, or, with `rounds` 0 (upstream's way), when someone interrupts, when the
 * group winds it up after the current speaker (input is waiting), or when no member is left to speak.
 *
 *   starting → (transcribing) → opening → next ⇄ requesting → speaking → … → done
 *
 * A member turn's frames go to the speaker (its audio, backend-synth-complete) or to every current member (chain
 * start and end, Thinking..., tool status, errors), each exactly once (docs/upstream-defects.md, U32). The speaker's agent gets the transcript
 * lines it has not seen; only it remembers its reply or, when interrupted, what was heard of it (docs/upstream-defects.md, U33).
 */

/** What a member turn's events do, wherever it runs. */
const speakerTurn = conversationSetup.createStateConfig({
  on: {
    'turn.frame': { actions: 'relayFrame' },
    'turn.finished': { actions: { type: 'recordReply', params: ({ event }) => event.output } },
    'group.recorded': { actions: { type: 'noteRecorded', params: ({ event }) => event.uid } },
    'turn.user-message': { actions: { type: 'rememberUserMessage', params: ({ event }) => event.content } },
    'conv.playback-complete': { guard: { type: 'isSpeaker', params: ({ event }) => event.uid }, actions: 'forwardPlayback' },
    // The speaker left in the middle of its turn: the others' chain is closed, and the next member speaks.
    'conv.member-left': {
      guard: { type: 'isSpeaker', params: ({ event }) => event.uid },
      target: 'next',
      actions: { type: 'closeLeftTurn', params: ({ event }) => event.uid },
    },
  },
});

export const groupConversationMachine = conversationSetup.createMachine({
  id: 'groupConversation',
  context: ({ input }) => ({
    ...input,
    lines: [],
    seen: {},
    step: 0,
    gone: [],
    speaker: null,
    speakerName: '',
    speakerAvatar: '',
    turnInput: null,
    spoken: [],
    chainOpen: false,
    unrecorded: [],
    windingUp: false,
    remoteTurn: false,
  }),
  on: {
    'conv.member-left': { actions: { type: 'noteGone', params: ({ event }) => event.uid } },
    'conv.wind-up': { actions: 'windUp' },
    // A group interrupt ends the conversation; leaving `speaking` stops the member turn and all it runs.
    'group.interrupt': { target: '.done', actions: { type: 'interruptSpeaker', params: ({ event }) => event.heard } },
  },
  initial: 'starting',
  states: {
    starting: {
      always: [{ guard: 'isVoice', target: 'transcribing' }, { target: 'opening' }],
    },
    transcribing: {
      // The initiator's voice, with its own recognizer and bound (transcription.machine.ts); an interrupt stops it.
      invoke: {
        src: 'transcription',
        input: ({ context }) => ({
          engine: context.input.asr,
          unavailable: context.input.asrUnavailable,
          samples: context.input.trigger.kind === 'audio' ? context.input.trigger.samples : new Float32Array(),
          clientUid: context.initiatorUid,
          deadlineMs: (context.input.deadlines ?? DEFAULT_ENGINE_DEADLINES).transcriptionMs,
        }),
        onDone: [
          {
            guard: { type: 'transcriptionFailed', params: ({ event }) => event.output },
            target: 'done',
            actions: { type: 'toInitiator', params: ({ event }) => [event.output.error!] },
          },
          {
            guard: { type: 'nothingUnderstood', params: ({ event }) => event.output },
            target: 'done',
            actions: { type: 'toInitiator', params: [{ type: 'user-input-transcription', text: '' }] },
          },
          {
            target: 'opening',
            actions: [
              { type: 'takeTranscript', params: ({ event }) => event.output.text },
              { type: 'toInitiator', params: ({ event }) => [{ type: 'user-input-transcription', text: event.output.text }] },
            ],
          },
        ],
      },
    },
    opening: {
      entry: 'openTranscript',
      always: 'next',
    },
    next: {
      always: [
        { guard: 'finished', target: 'done' },
        { guard: 'speakerGone', target: 'next', reenter: true, actions: 'skipSpeaker' },
        { target: 'requesting', actions: 'pickSpeaker' },
      ],
    },
    requesting: {
      entry: 'requestTurn',
      on: {
        'group.turn-input': { target: 'speaking', actions: { type: 'takeTurnInput', params: ({ event }) => event.input } },
        'group.turn-remote': {
          guard: { type: 'isSpeaker', params: ({ event }) => event.uid },
          target: 'speakingRemote',
          actions: { type: 'takeRemoteSpeaker', params: ({ event }) => event.speaker },
        },
        // A member that cannot speak now (switching character) is skipped, so are the ones that do not answer.
        'group.turn-unavailable': { target: 'next', actions: 'skipSpeaker' },
        'conv.member-left': {
          guard: { type: 'isSpeaker', params: ({ event }) => event.uid },
          target: 'next',
          actions: [{ type: 'noteGone', params: ({ event }) => event.uid }, 'skipSpeaker'],
        },
      },
      after: { memberAnswer: { target: 'next', actions: 'skipSpeaker' } },
    },
    speaking: {
      invoke: {
        id: 'turn',
        src: 'turn',
        input: ({ context }) => context.turnInput!,
        onDone: { target: 'next', actions: 'endTurn' },
        onError: { target: 'next', actions: [{ type: 'reportFailedTurn', params: ({ event }) => ({ error: event.error }) }, 'endTurn'] },
      },
      ...speakerTurn,
    },
    // The speaker's turn runs on its own instance; its events come through its remote member, in the same order.
    speakingRemote: {
      exit: 'stopRemoteTurn',
      on: {
        ...speakerTurn.on,
        'turn.remote-ended': [
          {
            guard: { type: 'remoteTurnFailed', params: ({ event }) => event },
            target: 'next',
            actions: [{ type: 'reportFailedTurn', params: ({ event }) => ({ error: new Error(event.error ?? '') }) }, 'endTurn'],
          },
          { guard: { type: 'isSpeaker', params: ({ event }) => event.uid }, target: 'next', actions: 'endTurn' },
        ],
      },
    },
    done: { type: 'final' },
  },
});
