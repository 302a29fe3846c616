import { assign, enqueueActions, sendTo } from 'xstate';
import { addMessage, type SentText } from '../src/agent/chat-memory.js';
import { joinDisplayTexts } from '../src/agent/display-texts.js';
import { historyLine } from './history-lines.js';
import { heardText, interruptedMemory, interruptLines, sentText } from './interrupt-bookkeeping.js';
import type { HistoryCommand, HistorySaved } from './session-contract.js';
import { ASR_SAMPLE_RATE } from './engine-contracts.js';
import { withGroupLink } from './session-group-link.js';
import { historyAppend, speakerOf } from './session-history.js';
import { toSocket } from './session-setup.js';
import { proactiveTrigger, textTrigger, turnInput, voiceTrigger } from './session-turn-input.js';
import type { TurnOutput, TurnTrigger } from './turn-contract.js';
import { CLOSING_FRAMES, failedTurnFrames, REPLY_RECORDED, replyLines } from './turn-ending.js';

/**
 * The conversation of a session on its own: `idle ⇄ responding`, one turn at a time (docs/upstream-defects.md, U8). The turn is invoked in
 * `responding`, so an interrupt, new input, a switch or a disconnect stops it and everything under it. Memory and
 * history follow: the user's words when the turn starts, the reply when it is over, what was heard of a reply cut
 * short (interrupt-bookkeeping.ts). The agent memory is this session's own (docs/upstream-defects.md, U1).
 */
export const withConversation = withGroupLink.extend({
  actions: {
    startTurn: assign((_, trigger: TurnTrigger) => ({ trigger, turnSpoken: [] as SentText[] })),
    bufferMic: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'client.mic-audio-data') return;
      const samples = context.mic.samples + event.frame.audio.length;
      if (samples > context.limits.micMaxSamples) {
        const seconds = Math.round(context.limits.micMaxSamples / ASR_SAMPLE_RATE);
        enqueue.sendTo('socket', toSocket({ type: 'error', code: 'mic_too_long', message: `Voice input longer than ${seconds} s was dropped; please speak in shorter parts` }));
        enqueue.assign({ mic: { chunks: [], samples: 0 } });
        return;
      }
      enqueue.assign({ mic: { chunks: [...context.mic.chunks, event.frame.audio], samples } });
    }),
    clearMic: assign({ mic: { chunks: [], samples: 0 } }),
    /** The client's answer to `control: mic-audio-end`: the utterance's turn has started already (session-voice.ts). */
    takeVoiceEndAnswer: assign({ voiceEndOwed: false }),
    reportNoMicAudio: sendTo('socket', toSocket({ type: 'error', code: 'no_mic_audio', message: 'mic-audio-end arrived without any mic-audio-data: there is nothing to transcribe' })),
    /** A turn replaced by new input: memory and history get the interrupt, the client the chain-end it was owed. */
    closeReplacedTurn: enqueueActions(({ context, enqueue }) => {
      // The client did not stop its playback: the memory notes the interrupt, the history keeps all that was sent.
      enqueue.assign({ memory: interruptedMemory(context.memory, '', context.character!.runtime.interruptMethod) });
      const command = historyAppend(context, interruptLines(sentText(context.turnSpoken), speakerOf(context)));
      if (command) enqueue.sendTo('history', command);
      // As a finished turn ends: the next reply starts a new chat bubble, then the chain closes.
      for (const frame of CLOSING_FRAMES) enqueue.sendTo('socket', toSocket(frame));
    }),
    /** A running turn was cut short: memory and history keep what the user heard of it, then the interrupt marker. */
    rememberInterrupt: enqueueActions(({ context, enqueue }, reported: string) => {
      const heard = heardText(reported, context.turnSpoken);
      enqueue.assign({ memory: interruptedMemory(context.memory, heard, context.character!.runtime.interruptMethod), trigger: null });
      const command = historyAppend(context, interruptLines(heard, speakerOf(context)));
      if (command) enqueue.sendTo('history', command);
    }),
    /** The user's words enter memory, and the history, when the turn starts. */
    rememberUserMessage: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'turn.user-message') return;
      enqueue.assign({ memory: addMessage(context.memory, { role: 'user', content: event.content }) });
      const command = historyAppend(context, [historyLine.human(event.content, context.character!.config.human_name)]);
      if (command) enqueue.sendTo('history', command);
    }),
    /**
     * The reply, once the turn is over and before its chain ends: the turn waits for `history.saved`, so what the
     * client is told has ended is on disk (docs/decisions.md, 8).
     */
    rememberReply: enqueueActions(({ context, enqueue }, output: TurnOutput) => {
      enqueue.assign({ memory: addMessage(context.memory, { role: 'assistant', content: output.reply }), trigger: null });
      const command = historyAppend(context, replyLines(joinDisplayTexts(output.spoken), speakerOf(context)));
      if (command) enqueue.sendTo('history', { ...command, confirm: true } satisfies HistoryCommand);
      else enqueue.sendTo('turn', REPLY_RECORDED satisfies HistorySaved);
    }),
    /** A turn stopped by a disconnect or a switch: the history keeps what it had said (upstream lost it). */
    saveUnfinishedTurn: enqueueActions(({ context, enqueue }) => {
      if (context.trigger === null) return;
      const command = historyAppend(context, replyLines(sentText(context.turnSpoken), speakerOf(context)));
      if (command) enqueue.sendTo('history', command);
      enqueue.assign({ trigger: null });
    }),
    /** A turn that failed in an unexpected way still ends the chain for the client: its error, then the chain end it is owed. */
    closeFailedTurn: enqueueActions(({ enqueue }, failure: { error: unknown }) => {
      for (const frame of failedTurnFrames(failure.error)) enqueue.sendTo('socket', toSocket(frame));
      enqueue.assign({ trigger: null });
    }),
    countTurn: assign({ turns: ({ context }) => context.turns + 1 }),
    turnOver: assign({ trigger: null }),
    /** The session's history has the reply on disk: the turn may end its chain. */
    relaySaved: sendTo('turn', ({ event }) => event),
    useToolMode: assign({ toolMode: ({ context, event }) => (event.type === 'turn.tool-mode' ? event.mode : context.toolMode) }),
    forwardPlayback: sendTo('turn', { type: 'playback.complete' }),
    trackSpoken: assign({
      turnSpoken: ({ context, event }) =>
        event.type === 'turn.frame' && event.frame.type === 'audio' && event.frame.display_text
          ? [...context.turnSpoken, { shown: event.frame.display_text.text, said: event.said ?? event.frame.display_text.text }]
          : context.turnSpoken,
    }),
  },
  guards: {
    noMicAudio: ({ context }) => context.mic.samples === 0,
    answersVoiceEnd: ({ context }) => context.voiceEndOwed && context.mic.samples === 0,
    /** The session's own history answered (a group's record confirms to the group instead). */
    savedForTurn: ({ event }) => event.type === 'history.saved' && event.confirmTo === undefined,
  },
});

/** No turn runs: conversation input starts one (or goes to the client's group). */
const idle = withConversation.createStateConfig({
  on: {
    'client.text-input': [
      { guard: 'inGroup', actions: { type: 'toGroup', params: ({ event }) => textTrigger(event) } },
      { target: 'responding', actions: { type: 'startTurn', params: ({ event }) => textTrigger(event) } },
    ],
    'client.mic-audio-end': [
      { guard: 'answersVoiceEnd', actions: 'takeVoiceEndAnswer' },
      { guard: 'noMicAudio', actions: 'reportNoMicAudio' },
      { guard: 'inGroup', actions: [{ type: 'toGroup', params: ({ context, event }) => voiceTrigger(context, event) }, 'clearMic'] },
      { target: 'responding', actions: [{ type: 'startTurn', params: ({ context, event }) => voiceTrigger(context, event) }, 'clearMic'] },
    ],
    'client.ai-speak-signal': [
      { guard: 'inGroup', actions: { type: 'toGroup', params: ({ context, event }) => proactiveTrigger(context, event) } },
      {
        target: 'responding',
        actions: [
          { type: 'send', params: { type: 'full-text', text: 'AI wants to speak something...' } },
          { type: 'startTurn', params: ({ context, event }) => proactiveTrigger(context, event) },
        ],
      },
    ],
  },
});

/** A turn runs; it ends by itself, or an interrupt, new input, a switch or a disconnect stops it. */
const responding = withConversation.createStateConfig({
  entry: 'countTurn',
  invoke: {
    id: 'turn',
    src: 'turn',
    input: ({ context, self }) => turnInput(context, self.getSnapshot().children.toolbox),
    onDone: { target: 'idle', actions: 'turnOver' },
    // A turn that failed in an unexpected way still ends the chain for the client (docs/upstream-defects.md, U10).
    onError: { target: 'idle', actions: { type: 'closeFailedTurn', params: ({ event }) => ({ error: event.error }) } },
  },
  on: {
    'turn.frame': { actions: ['trackSpoken', { type: 'send', params: ({ event }) => event.frame }] },
    'turn.user-message': { actions: 'rememberUserMessage' },
    'turn.finished': { actions: { type: 'rememberReply', params: ({ event }) => event.output } },
    // Relayed by the session (not sent to the turn directly), so the turn's last frames and its end reach
    // the session in one order, before anything a frame causes elsewhere (a proxy releasing its next input).
    'history.saved': { guard: 'savedForTurn', actions: 'relaySaved' },
    'turn.tool-mode': { actions: 'useToolMode' },
    'client.frontend-playback-complete': { actions: 'forwardPlayback' },
    'client.interrupt-signal': { target: 'idle', actions: { type: 'rememberInterrupt', params: ({ event }) => event.frame.text } },
    // One turn at a time (docs/upstream-defects.md, U8): new input stops the running turn first. Without an interrupt-signal the
    // client did not stop its playback, so the replaced turn is closed with a chain-end of its own.
    'client.text-input': {
      target: 'responding',
      reenter: true,
      actions: ['closeReplacedTurn', { type: 'startTurn', params: ({ event }) => textTrigger(event) }],
    },
    'client.mic-audio-end': [
      { guard: 'answersVoiceEnd', actions: 'takeVoiceEndAnswer' },
      { guard: 'noMicAudio', actions: 'reportNoMicAudio' },
      {
        target: 'responding',
        reenter: true,
        actions: ['closeReplacedTurn', { type: 'startTurn', params: ({ context, event }) => voiceTrigger(context, event) }, 'clearMic'],
      },
    ],
    'client.ai-speak-signal': {
      target: 'responding',
      reenter: true,
      actions: [
        'closeReplacedTurn',
        { type: 'send', params: { type: 'full-text', text: 'AI wants to speak something...' } },
        { type: 'startTurn', params: ({ context, event }) => proactiveTrigger(context, event) },
      ],
    },
  },
});

/** The conversation's part of `active`: its substates, and mic audio buffered in either. */
export const conversation = withConversation.createStateConfig({
  initial: 'idle',
  on: {
    'client.mic-audio-data': { actions: 'bufferMic' },
  },
  states: { idle, responding },
});
