import { createActor, fromPromise, setup, SimulatedClock, type AnyActorRef } from 'xstate';
import { groupConversationMachine, type ConversationInput } from '../../machines/group-conversation.machine.js';
import type { ConversationTell, GroupTrigger, SessionGroupEvent } from '../../machines/group-protocol.js';
import { transcriptionMachine } from '../../machines/transcription.machine.js';
import type { TurnTrigger } from '../../machines/turn-contract.js';
import { createTranscribe } from '../../src/engines/asr/transcribe-actor.js';
import { createLogger } from '../../src/observability/logger.js';
import { fakeAsr, fakeLlm, fakeTts, outlineFrames, turnInputFor, turnWithSlots, type FakeLlm } from '../helpers/run-turn.js';

/**
 * machines/group-conversation.machine.ts under a parent that plays the group: it records every `conv.tell` (to whom,
 * what), answers each turn request with the member's turn input (its own fake engines, real turn slots), and confirms
 * each `group.record` for every member unless told not to. Members' clients report playback when the test says so.
 * XState's SimulatedClock drives every bound.
 */

const NAMES: Record<string, string> = { a: 'Alice', b: 'Bob', c: 'Cleo' };
const RECORD_DEADLINE_MS = 2_000;
const MEMBER_ANSWER_MS = 5_000;

interface ConversationOptions {
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

function runConversation(options: ConversationOptions) {
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
  const input: ConversationInput = {
    groupId: 'g',
    initiatorUid: options.members[0]!,
    order: options.members.map((uid) => ({ uid, ref: undefined as unknown as AnyActorRef })),
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
                const reply =
                  answer === 'unavailable'
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
    outline: () => told.map(outlineTell),
    done: () => actor.getSnapshot().status === 'done',
    send: (event: { type: string; [key: string]: unknown }) => child()?.send(event),
    playbackComplete: (uid: string) => child()?.send({ type: 'conv.playback-complete', uid }),
    async settle() {
      for (let i = 0; i < 8; i++) await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const text = (words: string): TurnTrigger => ({ kind: 'text', text: words, images: [] });

describe('a group conversation (machines/group-conversation.machine.ts) on a simulated clock', () => {
  test('two members, one round: each speaks in turn, sees the lines it has not seen, and its chain ends once every history has its reply', async () => {
    const c = runConversation({ members: ['a', 'b'], trigger: text('hello all') });
    await c.settle();
    expect(c.outline()).toEqual([
      'all-a ← user-input-transcription',
      'all ← record human(Human):hello all',
      'a ← turn-request "Human: hello all" others=Bob',
      'all ← control:conversation-chain-start',
      'all ← full-text:Thinking...',
      'a ← remember user:Human: hello all',
      'a ← audio:Alice here.',
      'a ← backend-synth-complete',
    ]);
    c.playbackComplete('a');
    await c.settle();
    expect(c.outline().slice(8)).toEqual([
      'all ← force-new-message',
      'a ← remember assistant:Alice here.',
      'all ← record ai(Alice):Alice here. (confirm)',
      'all ← control:conversation-chain-end',
      'b ← turn-request "Human: hello all\\nAlice: Alice here." others=Alice',
      'all ← control:conversation-chain-start',
      'all ← full-text:Thinking...',
      'b ← remember user:Human: hello all\nAlice: Alice here.',
      'b ← audio:Bob here.',
      'b ← backend-synth-complete',
    ]);
    c.playbackComplete('b');
    await c.settle();
    expect(c.outline().slice(18)).toEqual([
      'all ← force-new-message',
      'b ← remember assistant:Bob here.',
      'all ← record ai(Bob):Bob here. (confirm)',
      'all ← control:conversation-chain-end',
    ]);
    expect(c.done()).toBe(true);
  });

  test('a second round gives each speaker only the lines said since it last spoke', async () => {
    const c = runConversation({ members: ['a', 'b'], trigger: text('hi'), rounds: 2 });
    for (const uid of ['a', 'b', 'a']) {
      await c.settle();
      c.playbackComplete(uid);
    }
    await c.settle();
    const requests = c.outline().filter((line) => line.includes('turn-request'));
    expect(requests).toEqual([
      'a ← turn-request "Human: hi" others=Bob',
      'b ← turn-request "Human: hi\\nAlice: Alice here." others=Alice',
      'a ← turn-request "Bob: Bob here." others=Bob',
      'b ← turn-request "Alice: Alice here." others=Alice',
    ]);
  });

  test('rounds 0 (upstream\'s way): the members speak round after round until the group winds the conversation up', async () => {
    const c = runConversation({ members: ['a', 'b'], trigger: text('hi'), rounds: 0 });
    for (const uid of ['a', 'b', 'a', 'b', 'a']) {
      await c.settle();
      c.playbackComplete(uid);
    }
    await c.settle();
    // Five turns, past two full rounds, and still going: b has been asked for its third turn.
    expect(c.outline().filter((line) => line.includes('turn-request')).map((line) => line.slice(0, 1))).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(c.done()).toBe(false);
    // Input is waiting: the current speaker finishes its turn, and nobody speaks after it.
    c.send({ type: 'conv.wind-up' });
    await c.settle();
    expect(c.done()).toBe(false);
    c.playbackComplete('b');
    await c.settle();
    expect(c.outline().at(-1)).toBe('all ← control:conversation-chain-end');
    expect(c.outline().filter((line) => line.includes('turn-request'))).toHaveLength(6);
    expect(c.done()).toBe(true);
  });

  test('rounds 0: a conversation whose members have all left ends instead of looking for a speaker for ever', async () => {
    const c = runConversation({ members: ['a', 'b'], trigger: text('hi'), rounds: 0, answer: () => 'silent' });
    await c.settle();
    c.send({ type: 'conv.member-left', uid: 'b' });
    c.send({ type: 'conv.member-left', uid: 'a' });
    await c.settle();
    expect(c.done()).toBe(true);
  });

  test('a history that does not confirm holds the chain exactly the turn\'s record bound', async () => {
    const c = runConversation({ members: ['a'], trigger: text('hi'), confirmRecords: false });
    await c.settle();
    c.playbackComplete('a');
    await c.settle();
    expect(c.outline().at(-1)).toBe('all ← record ai(Alice):Alice here. (confirm)');
    c.clock.increment(RECORD_DEADLINE_MS - 1);
    await c.settle();
    expect(c.outline().at(-1)).toBe('all ← record ai(Alice):Alice here. (confirm)');
    c.clock.increment(1);
    await c.settle();
    expect(c.outline().at(-1)).toBe('all ← control:conversation-chain-end');
    expect(c.done()).toBe(true);
  });

  test('a reply that said nothing is recorded nowhere, and its chain ends at once', async () => {
    const c = runConversation({ members: ['a'], trigger: text('hi'), llm: () => fakeLlm({ deltas: [] }) });
    await c.settle();
    expect(c.outline().slice(3)).toEqual([
      'all ← control:conversation-chain-start',
      'all ← full-text:Thinking...',
      'a ← remember user:Human: hi',
      'all ← force-new-message',
      'a ← remember assistant:',
      'all ← control:conversation-chain-end',
    ]);
    expect(c.done()).toBe(true);
  });

  test('an interrupt: the speaker keeps what was heard, every history gets it and the marker, everybody the interrupt-signal', async () => {
    const llm = fakeLlm({ deltas: ['First part. ', 'Second part.'], stall: true });
    const c = runConversation({ members: ['a', 'b'], trigger: text('hi'), llm: (uid) => (uid === 'a' ? llm : fakeLlm({ deltas: ['Never.'] })) });
    await c.settle();
    expect(c.outline().slice(-1)).toEqual(['a ← audio:First part. ']);
    c.send({ type: 'group.interrupt', uid: 'b', heard: 'First part.' });
    await c.settle();
    expect(c.outline().slice(-3)).toEqual([
      'a ← remember-interrupt "First part."',
      'all ← record ai(Alice):First part. | system:[Interrupted by user]',
      'all ← interrupt-signal',
    ]);
    expect(llm.aborted).toBe(1);
    expect(c.done()).toBe(true);
  });

  test('the speaker leaving mid-turn: the others\' chain is closed, and the next member speaks', async () => {
    const c = runConversation({ members: ['a', 'b'], trigger: text('hi'), llm: (uid) => fakeLlm(uid === 'a' ? { deltas: ['Hold on'], stall: true } : { deltas: ['Bob here.'] }) });
    await c.settle();
    c.send({ type: 'conv.member-left', uid: 'a' });
    await c.settle();
    expect(c.outline()).toEqual([
      'all-a ← user-input-transcription',
      'all ← record human(Human):hi',
      'a ← turn-request "Human: hi" others=Bob',
      'all ← control:conversation-chain-start',
      'all ← full-text:Thinking...',
      'a ← remember user:Human: hi',
      'all ← force-new-message | control:conversation-chain-end',
      'b ← turn-request "Human: hi" others=Alice',
      'all ← control:conversation-chain-start',
      'all ← full-text:Thinking...',
      'b ← remember user:Human: hi',
      'b ← audio:Bob here.',
      'b ← backend-synth-complete',
    ]);
    expect(c.llms.a!.aborted).toBe(1);
  });

  test('a member that cannot speak now, or does not answer within its bound, is skipped', async () => {
    const c = runConversation({ members: ['a', 'b', 'c'], trigger: text('hi'), answer: (uid) => (uid === 'a' ? 'unavailable' : uid === 'b' ? 'silent' : 'input') });
    await c.settle();
    expect(c.outline()).toEqual(['all-a ← user-input-transcription', 'all ← record human(Human):hi', 'a ← turn-request "Human: hi" others=Bob,Cleo', 'b ← turn-request "Human: hi" others=Alice,Cleo']);
    c.clock.increment(MEMBER_ANSWER_MS - 1);
    await c.settle();
    expect(c.outline()).toHaveLength(4);
    c.clock.increment(1);
    await c.settle();
    expect(c.outline()[4]).toBe('c ← turn-request "Human: hi" others=Alice,Bob');
  });

  test('a member turn that fails: everybody gets the error and the chain end, and the next member speaks', async () => {
    const failing = fromPromise(async () => {
      throw new Error('boom');
    });
    const c = runConversation({ members: ['a', 'b'], trigger: text('hi'), turn: failing });
    await c.settle();
    expect(c.outline().slice(3, 5)).toEqual(['all ← error | control:conversation-chain-end', 'b ← turn-request "Human: hi" others=Alice']);
    expect(c.told[3]!.event).toEqual({
      type: 'group.deliver',
      frames: [
        { type: 'error', code: 'conversation', message: 'Conversation error: boom' },
        { type: 'control', text: 'conversation-chain-end' },
      ],
    });
  });

  test('voice: the initiator sees its transcription, the others what the human said; nothing understood ends it', async () => {
    const voice: TurnTrigger = { kind: 'audio', samples: new Float32Array(1600), images: [] };
    const heard = runConversation({ members: ['a', 'b'], trigger: voice, asr: fakeAsr('hello by voice') });
    await heard.settle();
    expect(heard.outline().slice(0, 3)).toEqual(['a ← user-input-transcription', 'all-a ← user-input-transcription', 'all ← record human(Human):hello by voice']);
    const silent = runConversation({ members: ['a', 'b'], trigger: voice, asr: fakeAsr(' ') });
    await silent.settle();
    expect(silent.outline()).toEqual(['a ← user-input-transcription']);
    expect(silent.done()).toBe(true);
  });
});
