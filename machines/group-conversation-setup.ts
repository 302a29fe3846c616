import { assign, enqueueActions, sendParent, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { SentText } from '../src/agent/chat-memory.js';
import { joinDisplayTexts } from '../src/agent/display-texts.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { ConversationEvent, ConversationInput, ConversationTell, GroupMember, SessionGroupEvent, ToRemoteTurn } from './group-protocol.js';

import type { TranscriptionOutput } from './transcription.machine.js';
import type { TurnInput, TurnOutput } from './turn-contract.js';
import { CLOSING_FRAMES, failedTurnFrames, isChainEnd, isChainStart, REPLY_RECORDED, replyLines } from './turn-ending.js';
import { turnMachine } from './turn.machine.js';
import { transcriptionMachine } from './transcription.machine.js';
import { historyLine, type HistoryLine } from './history-lines.js';
import { heardText, interruptLines } from './interrupt-bookkeeping.js';

/**
 * The group conversation's context, slots, bound, guards and actions (group-conversation.machine.ts builds the
 * machine from them).
 */
interface ConversationContext extends ConversationInput {
  lines: string[];
  /** How many transcript lines each member's agent has seen. */
  seen: Record<string, number>;
  step: number;
  gone: string[];
  speaker: GroupMember | null;
  speakerName: string;
  speakerAvatar: string;
  turnInput: TurnInput | null;
  /** The current speaker's audio texts, shown and as said (to check an interrupt's heard text: docs/upstream-defects.md, U13). */
  spoken: SentText[];
  chainOpen: boolean;
  /** Members whose history has not confirmed the speaker's reply yet; the turn's chain ends when none is left. */
  unrecorded: string[];
  /** The group asked to end after the current speaker. */
  windingUp: boolean;
  /** The speaker's turn runs on its own instance (a member connected to another instance). */
  remoteTurn: boolean;
}

const tell = (to: string, event: SessionGroupEvent, except?: string): ConversationTell => ({ type: 'conv.tell', to, event, ...(except ? { except } : {}) });
const deliver = (to: string, frames: ServerFrame[], except?: string) => tell(to, { type: 'group.deliver', frames }, except);
/** Lines for every member's history. */
const record = (messages: HistoryLine[]) => tell('all', { type: 'group.record', messages });

/** Frames only the speaker's own client gets; everything else of a member turn goes to all members. */
const SPEAKER_ONLY: ReadonlySet<string> = new Set(['audio', 'backend-synth-complete', 'user-input-transcription']);

/** To the member turn: the child `turn`, or through the speaker's remote member when its turn runs on its instance. */
function toTurn(enqueue: { sendTo(to: AnyActorRef | string, event: EventObject): void }, context: ConversationContext, event: EventObject) {
  const forward: ToRemoteTurn = { type: 'conv.to-turn', event };
  if (context.remoteTurn && context.speaker) enqueue.sendTo(context.speaker.ref, forward);
  else enqueue.sendTo('turn', event);
}

export const conversationSetup = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as ConversationInput,
  },
  actors: {
    turn: turnMachine,
    /** The initiator's voice transcribed, bounded (a speaker's own engines are bounded inside its turn). */
    transcription: transcriptionMachine,
  },
  delays: {
    /** A member's session answering a turn request (it is busy switching character or gone if it does not). */
    memberAnswer: ({ context }) => context.input.memberAnswerMs,
  },
  actions: {
    /** Frames for the initiator's client only. */
    toInitiator: sendParent(({ context }, frames: ServerFrame[]) => deliver(context.initiatorUid, frames)),
    noteGone: assign({ gone: ({ context }, uid: string) => [...context.gone, uid] }),
    /** A group interrupt: the speaker keeps what was heard, every history gets it, every member the interrupt-signal. */
    interruptSpeaker: enqueueActions(({ context, enqueue }, reported: string) => {
      if (context.speaker && (context.turnInput || context.remoteTurn)) {
        const heard = heardText(reported, context.spoken);
        enqueue.sendParent(tell(context.speaker.uid, { type: 'group.remember-interrupt', heard }));
        enqueue.sendParent(record(interruptLines(heard, { name: context.speakerName, avatar: context.speakerAvatar })));
      }
      enqueue.sendParent(deliver('all', [{ type: 'interrupt-signal', text: 'conversation-interrupted' }]));
    }),
    /** The initiator's words, as the recognizer understood them, are what the conversation answers. */
    takeTranscript: assign({
      input: ({ context }, text: string) => ({ ...context.input, trigger: { kind: 'text' as const, text, images: context.input.trigger.images } }),
    }),
    /** The human's words open the transcript and every history; the others' clients see them too. */
    openTranscript: enqueueActions(({ context, enqueue }) => {
      const { trigger, humanName } = context.input;
      if (trigger.kind !== 'text' || !trigger.text.trim()) return;
      // Everybody else sees what the human said; the sender's client shows it already.
      enqueue.sendParent(deliver('all', [{ type: 'user-input-transcription', text: trigger.text }], context.initiatorUid));
      enqueue.sendParent(record([historyLine.human(trigger.text, humanName)]));
      enqueue.assign({ lines: [`${humanName}: ${trigger.text}`] });
    }),
    /** The member whose turn it is next (in order, round after round). */
    pickSpeaker: assign({ speaker: ({ context }) => context.order[context.step % context.order.length]!, turnInput: null, spoken: [], remoteTurn: false }),
    /** That member does not speak this time (gone, unavailable, silent). */
    skipSpeaker: assign({ step: ({ context }) => context.step + 1 }),
    /** The speaker's session is asked for its turn, with the transcript lines its agent has not seen. */
    requestTurn: sendParent(({ context, self }) => {
      const speaker = context.speaker!;
      const seen = context.seen[speaker.uid] ?? 0;
      return tell(speaker.uid, {
        type: 'group.turn-request',
        replyTo: self,
        text: context.lines.slice(seen).join('\n'),
        proactive: context.step === 0 && context.input.trigger.kind === 'proactive',
        images: context.input.trigger.images,
        humanName: context.input.humanName,
        otherAis: context.order.filter((m) => m.uid !== speaker.uid).map((m) => context.names[m.uid] ?? m.uid),
      });
    }),
    takeTurnInput: assign((_, input: TurnInput) => ({ turnInput: input, speakerName: input.speaker.name, speakerAvatar: input.speaker.avatar })),
    takeRemoteSpeaker: assign((_, speaker: { name: string; avatar: string }) => ({ remoteTurn: true, speakerName: speaker.name, speakerAvatar: speaker.avatar })),
    /** Leaving a remote member's turn (ended, interrupted, the group closing): its instance stops it if it still runs. */
    stopRemoteTurn: enqueueActions(({ context, enqueue }) => {
      if (context.speaker) enqueue.sendTo(context.speaker.ref, { type: 'conv.turn-stop' } satisfies ToRemoteTurn);
    }),
    /** The speaker's turn is over (or gone): the next member's step. */
    endTurn: assign({ step: ({ context }) => context.step + 1, speaker: null, chainOpen: false }),
    /** A member turn that failed in an unexpected way still ends the chain for everybody. */
    reportFailedTurn: sendParent((_, failure: { error: unknown }) => deliver('all', failedTurnFrames(failure.error))),
    /** A frame of the member turn: to its speaker or to everybody, each once; its audio texts and chain state kept. */
    relayFrame: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'turn.frame') return;
      const { frame } = event;
      const speaker = context.speaker!.uid;
      // A turn run on the speaker's own instance gives the speaker its frames there, in order: the others get theirs.
      if (context.remoteTurn) {
        if (!SPEAKER_ONLY.has(frame.type)) enqueue.sendParent(deliver('all', [frame], speaker));
      } else enqueue.sendParent(SPEAKER_ONLY.has(frame.type) ? deliver(speaker, [frame]) : deliver('all', [frame]));
      if (frame.type === 'audio' && frame.display_text) enqueue.assign({ spoken: [...context.spoken, { shown: frame.display_text.text, said: event.said ?? frame.display_text.text }] });
      if (isChainStart(frame)) enqueue.assign({ chainOpen: true });
      if (isChainEnd(frame)) enqueue.assign({ chainOpen: false });
    }),
    /** The speaker's agent remembers the lines it was given. */
    rememberUserMessage: sendParent(({ context }, content: string) => tell(context.speaker!.uid, { type: 'group.remember', messages: [{ role: 'user', content }] })),
    /**
     * The reply is complete: the speaker's memory and every member's history get it; the chain ends once they have
     * it on disk (or at the turn's record deadline).
     */
    recordReply: enqueueActions(({ context, enqueue, self }, output: TurnOutput) => {
      const speaker = context.speaker!;
      enqueue.sendParent(tell(speaker.uid, { type: 'group.remember', messages: [{ role: 'assistant', content: output.reply }] }));
      const said = joinDisplayTexts(output.spoken);
      const lines = said ? [...context.lines, `${context.speakerName}: ${said}`] : context.lines;
      enqueue.assign({ lines, seen: { ...context.seen, [speaker.uid]: lines.length } });
      const messages = replyLines(said, { name: context.speakerName, avatar: context.speakerAvatar });
      if (messages.length === 0) {
        toTurn(enqueue, context, REPLY_RECORDED);
        return;
      }
      enqueue.sendParent(tell('all', { type: 'group.record', messages, confirmTo: self }));
      enqueue.assign({ unrecorded: context.order.map((m) => m.uid).filter((uid) => !context.gone.includes(uid)) });
    }),
    /** A member's history has the reply; once every one has it, the turn may end its chain. */
    noteRecorded: enqueueActions(({ context, enqueue }, uid: string) => {
      if (!context.unrecorded.includes(uid)) return;
      const unrecorded = context.unrecorded.filter((u) => u !== uid);
      enqueue.assign({ unrecorded });
      if (unrecorded.length === 0) toTurn(enqueue, context, REPLY_RECORDED);
    }),
    forwardPlayback: enqueueActions(({ context, enqueue }) => toTurn(enqueue, context, { type: 'playback.complete' })),
    windUp: assign({ windingUp: true }),
    /** The speaker left in the middle of its turn: the others' chain is closed. */
    closeLeftTurn: enqueueActions(({ context, enqueue }, uid: string) => {
      if (context.chainOpen) enqueue.sendParent(deliver('all', [...CLOSING_FRAMES]));
      enqueue.assign({ gone: [...context.gone, uid], step: context.step + 1, speaker: null, chainOpen: false });
    }),
  },
  guards: {
    isVoice: ({ context }) => context.input.trigger.kind === 'audio',
    transcriptionFailed: (_, output: TranscriptionOutput) => output.error !== null,
    nothingUnderstood: (_, output: TranscriptionOutput) => output.text.trim() === '',
    finished: ({ context }) =>
      context.windingUp ||
      (context.rounds > 0 && context.step >= context.order.length * context.rounds) ||
      context.order.every((m) => context.gone.includes(m.uid)),
    speakerGone: ({ context }) => context.gone.includes(context.order[context.step % context.order.length]!.uid),
    /** The event is about the member whose turn it is. */
    isSpeaker: ({ context }, uid: string) => uid === context.speaker?.uid,
    /** The speaker's turn on its own instance ended with an error (another member's late news is not this turn's). */
    remoteTurnFailed: ({ context }, ended: { uid: string; error: string | null }) => ended.uid === context.speaker?.uid && ended.error !== null,
  },
});

