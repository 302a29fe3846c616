import { assign, sendTo, stateIn } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { GroupEvent } from './group-protocol.js';
import { withConversation } from './session-conversation.js';
import type { SessionContext, SessionEvent } from './session-contract.js';
import type { TurnTrigger } from './turn-contract.js';
import { SILERO_VAD_DEFAULTS } from '../src/config/silero-vad-schema.js';
import type { VoiceDetectionEvent, VoiceDetectionInput } from './voice-detection-contract.js';

/**
 * Voice detection on the server (`raw-audio-data`, voice-detection.machine.ts). The session's detector is invoked in
 * `active`, so a switch or a disconnect stops it; what it finds becomes upstream's frames and a turn:
 *
 *   speech starts → `control: interrupt`; a reply in progress is cut short (barge-in) as new input cuts it: the
 *                   chain is closed for the client, the memory notes the interrupt, the history keeps what was sent
 *   speech ends   → `control: mic-audio-end`, then at once the turn with the utterance as voice input. Upstream
 *                   waited for the client to answer with `mic-audio-end`, which hardware clients may never send;
 *                   such an answer, with no mic audio of its own, is taken and starts nothing.
 *
 * In a group, the group conversation gets the interrupt and the utterance, as it gets the client's own.
 */

/** How long a detector whose model failed stays off (the user may put the file in place meanwhile). */
const VAD_RETRY_MS = 10_000;

export const VAD_OFF_ERROR: ServerFrame = {
  type: 'error',
  code: 'not_supported',
  message: '"raw-audio-data" needs voice detection on the server: set vad_config.vad_model to silero_vad',
};

const SPEECH_STARTED: ServerFrame = { type: 'control', text: 'interrupt' };
const SPEECH_ENDED: ServerFrame = { type: 'control', text: 'mic-audio-end' };

/** The detector's input: the character's vad_config, the session's utterance bound and the recogniser's deadline. */
export function voiceDetectionInput(context: SessionContext): VoiceDetectionInput {
  // A parsed config always has the block (with upstream's defaults); a character built by hand may not.
  const silero = context.character!.config.vad_config?.silero_vad ?? SILERO_VAD_DEFAULTS;
  return {
    settings: {
      probThreshold: silero.prob_threshold,
      dbThreshold: silero.db_threshold,
      requiredHits: silero.required_hits,
      requiredMisses: silero.required_misses,
      smoothingWindow: silero.smoothing_window,
    },
    modelPath: ('model_path' in silero ? silero.model_path : undefined) ?? null,
    maxUtteranceSamples: context.limits.micMaxSamples,
    answerMs: context.limits.deadlines?.transcriptionMs ?? 60_000,
    retryMs: VAD_RETRY_MS,
  };
}

type Utterance = Extract<SessionEvent, { type: 'vad.utterance' }>;
const utteranceTrigger = ({ event }: { event: Utterance }): TurnTrigger => ({ kind: 'audio', samples: event.samples, images: [] });

function droppedFrame(event: Extract<SessionEvent, { type: 'vad.dropped' }>): ServerFrame {
  return event.reason === 'too-long'
    ? { type: 'error', code: 'mic_too_long', message: `Voice input longer than ${event.seconds} s was dropped; please speak in shorter parts` }
    : { type: 'error', code: 'vad', message: `Voice detection fell ${event.seconds} s behind; that audio was dropped` };
}

export const withVoice = withConversation.extend({
  actions: {
    hearRawAudio: sendTo('vad', ({ event }) => ({ type: 'vad.audio', samples: event.type === 'client.raw-audio-data' ? event.frame.audio : [] }) satisfies VoiceDetectionEvent),
    interruptGroup: sendTo(({ context }) => context.group!.ref, ({ context }) => ({ type: 'group.interrupt', uid: context.clientUid, heard: '' }) satisfies GroupEvent),
    forgetTrigger: assign({ trigger: null }),
    expectVoiceEndAnswer: assign({ voiceEndOwed: true }),
  },
  guards: {
    voiceDetectionOff: ({ context }) => context.character!.config.vad_config?.vad_model !== 'silero_vad',
    replying: stateIn('#session.active.responding'),
  },
});

/** What `active` does with raw audio and with the detector's findings. */
export const voiceHandlers = withVoice.createStateConfig({
  on: {
    'client.raw-audio-data': [{ guard: 'voiceDetectionOff', actions: { type: 'send', params: VAD_OFF_ERROR } }, { actions: 'hearRawAudio' }],
    'vad.speech-start': [
      { guard: 'replying', target: '.idle', actions: [{ type: 'send', params: SPEECH_STARTED }, 'closeReplacedTurn', 'forgetTrigger'] },
      { guard: 'inGroup', actions: [{ type: 'send', params: SPEECH_STARTED }, 'interruptGroup'] },
      { actions: { type: 'send', params: SPEECH_STARTED } },
    ],
    'vad.utterance': [
      { guard: 'inGroup', actions: [{ type: 'send', params: SPEECH_ENDED }, 'expectVoiceEndAnswer', { type: 'toGroup', params: utteranceTrigger }] },
      {
        guard: 'replying',
        target: '.responding',
        actions: [{ type: 'send', params: SPEECH_ENDED }, 'expectVoiceEndAnswer', 'closeReplacedTurn', { type: 'startTurn', params: utteranceTrigger }],
      },
      { target: '.responding', actions: [{ type: 'send', params: SPEECH_ENDED }, 'expectVoiceEndAnswer', { type: 'startTurn', params: utteranceTrigger }] },
    ],
    'vad.dropped': { actions: { type: 'send', params: ({ event }) => droppedFrame(event) } },
    'vad.failed': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', code: 'vad', message: `Voice detection failed: ${event.message}` }) } },
  },
});
