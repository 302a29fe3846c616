import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import { groupConversationMachine, type ConversationInput } from '../../machines/group-conversation.machine.js';
import type { ConversationTell, GroupTrigger, SessionGroupEvent } from '../../machines/group-protocol.js';
import { transcriptionMachine } from '../../machines/transcription.machine.js';
import type { TurnTrigger } from '../../machines/turn-contract.js';
import { createTranscribe } from '../../src/engines/asr/transcribe-actor.js';
import { createLogger } from '../../src/observability/logger.js';
import { fakeLlm, fakeTts, outlineFrames, turnInputFor, turnWithSlots, type FakeLlm } from './run-turn.js';

/**
 * machines/group-conversation.machine.ts under a parent that plays the group, for its tests. The parent records every
 * `conv.tell` (to whom, what), answers each turn request with the member's turn input (its own fake engines, real
 * turn slots) or, for a member on another instance, with `group.turn-remote`, and confirms each `group.record` for
 * every member unless told not to. Members' clients report playback when the test says so. XState's SimulatedClock
 * drives every bound.
 */

export const NAMES: Record<string, string> = { a: 'Alice', b: 'Bob', c: 'Cleo' };
export const RECORD_DEADLINE_MS = 2_000;
export const MEMBER_ANSWER_MS = 5_000;

export interface ConversationOptions {
  members: string[];
  trigger: TurnTrigger;
  /** Each member's model (default: one sentence naming the member). */
  llm?: (uid: string) => FakeLlm;
  asr?: GroupTrigger['asr'];
  rounds?: number;
  /** How a member's session answers a turn request (default: with its turn input). */
  answer?: (uid: string) => 'input' | 'unavailable' | 'silent';
  /** Members' histories confirm what they are told to record (default: true). */
  confirmRecords?: boolean;
  /** Replaces the member turn (an actor that fails, say). */
  turn?: unknown;
  /**
   * Members connected to another instance: their session answers a turn request with `group.turn-remote`, and their
   * ref (the remote member) records what the conversation sends it; the test plays their turn's events.
   */
  remote?: string[];
}

function outlineTell(tell: ConversationTell): string {
  const to = tell.except ? `${tell.to}-${tell.except}` : tell.to;
  const event = tell.event as SessionGroupEvent;
  switch (event.type) {
    case 'group.deliver':
      return `${to} ← ${outlineFrames(event.frames).join(' | ')}`;
    case 'group.turn-request':
      return `${to} ← turn-request ${JSON.stringify(event.text)} others=${event.otherAis.join(',')}${event.proactive ? ' proactive' : ''}`;
    case 'group.remember':
      return `${to} ← remember ${event.messages.map((m) => `${m.role}:${m.content}`).join(' | ')}`;
    case 'group.remember-interrupt':
      return `${to} ← remember-interrupt ${JSON.stringify(event.heard)}`;
    case 'group.record':
      return `${to} ← record ${event.messages.map((m) => `${m.role}${m.name ? `(${m.name})` : ''}:${m.content}`).join(' | ')}${event.confirmTo ? ' (confirm)' : ''}`;
    default:
      return `${to} ← ${event.type}`;
  }
}

export function runConversation(options: ConversationOptions) {
  const clock = new SimulatedClock();
  const told: ConversationTell[] = [];
  const llms: Record<string, FakeLlm> = {};
  const llmOf = (uid: string) => (llms[uid] ??= options.llm?.(uid) ?? fakeLlm({ deltas: [`${NAMES[uid]} here.`] }));
  const quiet = createLogger({ silent: true });
  const conversation = groupConversationMachine.provide({
    actors: {
      turn: (options.turn ?? turnWithSlots()) as never,
      transcription: transcriptionMachine.provide({ actors: { transcribe: createTranscribe(quiet) } }),
    },
  });
  const toRemote: Record<string, EventObject[]> = {};
  const remoteRef = (uid: string) => {
    toRemote[uid] = [];
    return createActor(fromCallback<EventObject>(({ receive }) => receive((event) => toRemote[uid]!.push(event)))).start();
  };
  const input: ConversationInput = {
    groupId: 'g',
    initiatorUid: options.members[0]!,
    order: options.members.map((uid) => ({ uid, ref: (options.remote?.includes(uid) ? remoteRef(uid) : undefined) as unknown as AnyActorRef })),
    names: Object.fromEntries(options.members.map((uid) => [uid, NAMES[uid]!])),
    input: { trigger: options.trigger, humanName: 'Human', asr: options.asr, memberAnswerMs: MEMBER_ANSWER_MS },
    rounds: options.rounds ?? 1,
  };
  const parent = setup({ actors: { conversation } }).createMachine({
    initial: 'running',
    states: {
      running: {
        invoke: { id: 'conversation', src: 'conversation', input, onDone: 'done' },
        on: {
          'conv.tell': {
            actions: ({ event }) => {
              const tell = event as unknown as ConversationTell;
              told.push(tell);
              const e = tell.event;
              if (e.type === 'group.turn-request') {
                const answer = options.answer?.(tell.to) ?? 'input';
                if (answer === 'silent') return;
                const reply = options.remote?.includes(tell.to)
                  ? { type: 'group.turn-remote', uid: tell.to, speaker: { name: NAMES[tell.to]!, avatar: `${tell.to}.png` } }
                  : answer === 'unavailable'
                    ? { type: 'group.turn-unavailable', reason: 'switching character' }
                    : {
                        type: 'group.turn-input',
                        input: turnInputFor(
                          { kind: 'text', text: e.text, images: e.images },
                          {
                            llm: llmOf(tell.to),
                            tts: fakeTts(),
                            input: { clientUid: tell.to, speaker: { name: NAMES[tell.to]!, avatar: `${tell.to}.png` }, record: { deadlineMs: RECORD_DEADLINE_MS } },
                          },
                          clock,
                        ),
                      };
                queueMicrotask(() => e.replyTo.send(reply));
              } else if (e.type === 'group.record' && e.confirmTo && options.confirmRecords !== false) {
                const confirmTo = e.confirmTo;
                for (const uid of options.members) queueMicrotask(() => confirmTo.send({ type: 'group.recorded', uid }));
              }
            },
          },
        },
      },
      done: { type: 'final' },
    },
  });
  const actor = createActor(parent, { clock }).start();
  const child = () => actor.getSnapshot().children.conversation as AnyActorRef | undefined;
  return {
    clock,
    llms,
    told,
    /** What the conversation sent each remote member's ref. */
    toRemote,
    outline: () => told.map(outlineTell),
    done: () => actor.getSnapshot().status === 'done',
    send: (event: { type: string; [key: string]: unknown }) => child()?.send(event),
    playbackComplete: (uid: string) => child()?.send({ type: 'conv.playback-complete', uid }),
    async settle() {
      for (let i = 0; i < 8; i++) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

export const text = (words: string): TurnTrigger => ({ kind: 'text', text: words, images: [] });

