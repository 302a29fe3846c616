import { fromPromise } from 'xstate';
import type { TurnTrigger } from '../../machines/turn-contract.js';
import { fakeAsr, fakeLlm } from '../helpers/run-turn.js';
import { MEMBER_ANSWER_MS, RECORD_DEADLINE_MS, runConversation, text } from '../helpers/group-conversation-harness.js';

/** machines/group-conversation.machine.ts, its members' turns run here (test/helpers/group-conversation-harness.ts). */
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
