import { assign, enqueueActions, sendParent, sendTo, setup } from 'xstate';
import type { SentText } from '../src/agent/chat-memory.js';
import { joinDisplayTexts } from '../src/agent/display-texts.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { ConversationTell, GroupMember, GroupRecorded, GroupTrigger, GroupTurnReply, SessionGroupEvent } from './group-protocol.js';
import type { TurnInput, TurnOutputEvent } from './turn-contract.js';
import { CLOSING_FRAMES, failedTurnFrames, isChainEnd, isChainStart, REPLY_RECORDED, replyLines } from './turn-ending.js';
import { turnMachine } from './turn.machine.js';
import { DEFAULT_ENGINE_DEADLINES } from './engine-deadlines.js';
import { transcriptionMachine } from './transcription.machine.js';
import { historyLine, type HistoryLine } from './history-lines.js';
import { heardText, interruptLines } from './interrupt-bookkeeping.js';

/**
 * One group conversation, invoked by its group while it is `conversing`: the members' characters answer in turn,
 * each turn a `turn` actor of this machine (so an interrupt, or the group dissolving, stops it with everything it
 * runs). It ends after `rounds` rounds (D17: upstream's never ended).
 *
 *   starting → (transcribing) → opening → next ⇄ requesting → speaking → … → done
 *
 * A member turn's frames go to the speaker (its audio, backend-synth-complete) or to every current member (chain
 * start and end, Thinking..., tool status, errors), each exactly once (D19). The speaker's agent gets the transcript
 * lines it has not seen; only it remembers its reply or, when interrupted, what was heard of it (D26).
 */

export interface ConversationInput {
  groupId: string;
  initiatorUid: string;
  /** Speaking order: the members when it started, the initiator first. */
  order: GroupMember[];
  /** Character names by uid, for the group prompt's `{other_ais}`. */
  names: Record<string, string>;
  input: GroupTrigger;
  rounds: number;
}

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
  /** The current speaker's audio texts, shown and as said (to check an interrupt's heard text, D23). */
  spoken: SentText[];
  chainOpen: boolean;
  /** Members whose history has not confirmed the speaker's reply yet; the turn's chain ends when none is left. */
  unrecorded: string[];
}

export type ConversationEvent =
  | { type: 'group.interrupt'; uid: string; heard: string }
  | { type: 'conv.playback-complete'; uid: string }
  | { type: 'conv.member-left'; uid: string }
  | GroupTurnReply
  | GroupRecorded
  | TurnOutputEvent;

const tell = (to: string, event: SessionGroupEvent, except?: string): ConversationTell => ({ type: 'conv.tell', to, event, ...(except ? { except } : {}) });
const deliver = (to: string, frames: ServerFrame[], except?: string) => tell(to, { type: 'group.deliver', frames }, except);

/** Frames only the speaker's own client gets; everything else of a member turn goes to all members. */
const SPEAKER_ONLY: ReadonlySet<string> = new Set(['audio', 'backend-synth-complete', 'user-input-transcription']);

export const groupConversationMachine = setup({
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
    record: sendParent((_, messages: HistoryLine[]) => tell('all', { type: 'group.record', messages })),
  },
  guards: {
    isVoice: ({ context }) => context.input.trigger.kind === 'audio',
    finished: ({ context }) => context.step >= context.order.length * context.rounds,
    speakerGone: ({ context }) => context.gone.includes(context.order[context.step % context.order.length]!.uid),
  },
}).createMachine({
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
  }),
  on: {
    'conv.member-left': { actions: assign({ gone: ({ context, event }) => [...context.gone, event.uid] }) },
    // A group interrupt ends the conversation; leaving `speaking` stops the member turn and all it runs.
    'group.interrupt': {
      target: '.done',
      actions: enqueueActions(({ context, event, enqueue }) => {
        if (context.speaker && context.turnInput) {
          const heard = heardText(event.heard, context.spoken);
          enqueue.sendParent(tell(context.speaker.uid, { type: 'group.remember-interrupt', heard }));
          enqueue({ type: 'record', params: interruptLines(heard, { name: context.speakerName, avatar: context.speakerAvatar }) });
        }
        enqueue.sendParent(deliver('all', [{ type: 'interrupt-signal', text: 'conversation-interrupted' }]));
      }),
    },
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
          { guard: ({ event }) => event.output.error !== null, target: 'done', actions: sendParent(({ context, event }) => deliver(context.initiatorUid, [event.output.error!])) },
          {
            guard: ({ event }) => event.output.text.trim() === '',
            target: 'done',
            actions: sendParent(({ context }) => deliver(context.initiatorUid, [{ type: 'user-input-transcription', text: '' }])),
          },
          {
            target: 'opening',
            actions: [
              assign({ input: ({ context, event }) => ({ ...context.input, trigger: { kind: 'text', text: event.output.text, images: context.input.trigger.images } }) }),
              sendParent(({ context, event }) => deliver(context.initiatorUid, [{ type: 'user-input-transcription', text: event.output.text }])),
            ],
          },
        ],
      },
    },
    opening: {
      entry: enqueueActions(({ context, enqueue }) => {
        const { trigger, humanName } = context.input;
        if (trigger.kind !== 'text' || !trigger.text.trim()) return;
        // Everybody else sees what the human said; the sender's client shows it already.
        enqueue.sendParent(deliver('all', [{ type: 'user-input-transcription', text: trigger.text }], context.initiatorUid));
        enqueue({ type: 'record', params: [historyLine.human(trigger.text, humanName)] });
        enqueue.assign({ lines: [`${humanName}: ${trigger.text}`] });
      }),
      always: 'next',
    },
    next: {
      always: [
        { guard: 'finished', target: 'done' },
        { guard: 'speakerGone', target: 'next', reenter: true, actions: assign({ step: ({ context }) => context.step + 1 }) },
        {
          target: 'requesting',
          actions: assign({ speaker: ({ context }) => context.order[context.step % context.order.length]!, turnInput: null, spoken: [] }),
        },
      ],
    },
    requesting: {
      entry: sendParent(({ context, self }) => {
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
      on: {
        'group.turn-input': {
          target: 'speaking',
          actions: assign({
            turnInput: ({ event }) => event.input,
            speakerName: ({ event }) => event.input.speaker.name,
            speakerAvatar: ({ event }) => event.input.speaker.avatar,
          }),
        },
        // A member that cannot speak now (switching character) is skipped, so are the ones that do not answer.
        'group.turn-unavailable': { target: 'next', actions: assign({ step: ({ context }) => context.step + 1 }) },
        'conv.member-left': {
          guard: ({ context, event }) => event.uid === context.speaker?.uid,
          target: 'next',
          actions: assign({ gone: ({ context, event }) => [...context.gone, event.uid], step: ({ context }) => context.step + 1 }),
        },
      },
      after: { memberAnswer: { target: 'next', actions: assign({ step: ({ context }) => context.step + 1 }) } },
    },
    speaking: {
      invoke: {
        id: 'turn',
        src: 'turn',
        input: ({ context }) => context.turnInput!,
        onDone: { target: 'next', actions: assign({ step: ({ context }) => context.step + 1, speaker: null, chainOpen: false }) },
        onError: {
          target: 'next',
          actions: [
            sendParent(({ event }) => deliver('all', failedTurnFrames(event.error))),
            assign({ step: ({ context }) => context.step + 1, speaker: null, chainOpen: false }),
          ],
        },
      },
      on: {
        'turn.frame': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { frame } = event;
            const speaker = context.speaker!.uid;
            enqueue.sendParent(SPEAKER_ONLY.has(frame.type) ? deliver(speaker, [frame]) : deliver('all', [frame]));
            if (frame.type === 'audio' && frame.display_text) enqueue.assign({ spoken: [...context.spoken, { shown: frame.display_text.text, said: event.said ?? frame.display_text.text }] });
            if (isChainStart(frame)) enqueue.assign({ chainOpen: true });
            if (isChainEnd(frame)) enqueue.assign({ chainOpen: false });
          }),
        },
        // The reply is complete: memory and every member's history get it; the chain ends once they have it on disk
        // (or at the turn's record deadline).
        'turn.finished': {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const output = event.output;
            const speaker = context.speaker!;
            enqueue.sendParent(tell(speaker.uid, { type: 'group.remember', messages: [{ role: 'assistant', content: output.reply }] }));
            const said = joinDisplayTexts(output.spoken);
            const lines = said ? [...context.lines, `${context.speakerName}: ${said}`] : context.lines;
            enqueue.assign({ lines, seen: { ...context.seen, [speaker.uid]: lines.length } });
            const messages = replyLines(said, { name: context.speakerName, avatar: context.speakerAvatar });
            if (messages.length === 0) {
              enqueue.sendTo('turn', REPLY_RECORDED);
              return;
            }
            enqueue.sendParent(tell('all', { type: 'group.record', messages, confirmTo: self }));
            enqueue.assign({ unrecorded: context.order.map((m) => m.uid).filter((uid) => !context.gone.includes(uid)) });
          }),
        },
        'group.recorded': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (!context.unrecorded.includes(event.uid)) return;
            const unrecorded = context.unrecorded.filter((uid) => uid !== event.uid);
            enqueue.assign({ unrecorded });
            if (unrecorded.length === 0) enqueue.sendTo('turn', REPLY_RECORDED);
          }),
        },
        'turn.user-message': {
          actions: sendParent(({ context, event }) => tell(context.speaker!.uid, { type: 'group.remember', messages: [{ role: 'user', content: event.content }] })),
        },
        'conv.playback-complete': {
          guard: ({ context, event }) => event.uid === context.speaker?.uid,
          actions: sendTo('turn', { type: 'playback.complete' }),
        },
        // The speaker left in the middle of its turn: the others' chain is closed, and the next member speaks.
        'conv.member-left': {
          guard: ({ context, event }) => event.uid === context.speaker?.uid,
          target: 'next',
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (context.chainOpen) enqueue.sendParent(deliver('all', [...CLOSING_FRAMES]));
            enqueue.assign({ gone: [...context.gone, event.uid], step: context.step + 1, speaker: null, chainOpen: false });
          }),
        },
      },
    },
    done: { type: 'final' },
  },
});
