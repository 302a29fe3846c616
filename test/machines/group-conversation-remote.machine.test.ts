import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { runConversation, text } from '../helpers/group-conversation-harness.js';

/**
 * machines/group-conversation.machine.ts when the speaker is connected to another instance (`speakingRemote`): its
 * turn runs there, and its events come back through its remote member (test/helpers/group-conversation-harness.ts
 * records what the conversation sends that member; the test plays the turn's events). docs/cluster.md.
 */

const frame = (f: ServerFrame) => ({ type: 'turn.frame', frame: f });
const audio = (said: string): ServerFrame =>
  ({ type: 'audio', audio: '', volumes: [], slice_length: 20, display_text: { text: said, name: 'Bob', avatar: 'b.png' }, actions: null, forwarded: false }) as unknown as ServerFrame;

/** Bob (b) is on another instance and speaks first; Alice (a) speaks here after him. */
async function bobSpeaksFromAfar() {
  const c = runConversation({ members: ['b', 'a'], trigger: text('hi'), remote: ['b'] });
  await c.settle();
  c.send(frame({ type: 'control', text: 'conversation-chain-start' }));
  c.send(frame({ type: 'full-text', text: 'Thinking...' }));
  c.send({ type: 'turn.user-message', content: 'Human: hi' });
  c.send({ ...frame(audio('Bob here.')), said: 'Bob here.' });
  c.send(frame({ type: 'backend-synth-complete' }));
  await c.settle();
  return c;
}

describe('a group conversation whose speaker is on another instance (machines/group-conversation.machine.ts)', () => {
  test('the others get the turn\'s frames but its audio, and the speaker\'s turn hears of its playback and its reply on disk', async () => {
    const c = await bobSpeaksFromAfar();
    expect(c.outline()).toEqual([
      'all-b ← user-input-transcription',
      'all ← record human(Human):hi',
      'b ← turn-request "Human: hi" others=Alice',
      // Bob's own client gets every frame of his turn from his instance; the others all but the speaker's own.
      'all-b ← control:conversation-chain-start',
      'all-b ← full-text:Thinking...',
      'b ← remember user:Human: hi',
    ]);
    expect(c.toRemote.b).toEqual([]);

    c.playbackComplete('b');
    c.send(frame({ type: 'force-new-message' }));
    c.send({ type: 'turn.finished', output: { userText: 'hi', reply: 'Bob here.', spoken: ['Bob here.'], playbackTimedOut: false } });
    await c.settle();
    expect(c.outline().slice(6)).toEqual(['all-b ← force-new-message', 'b ← remember assistant:Bob here.', 'all ← record ai(Bob):Bob here. (confirm)']);
    // Every member's history confirmed the reply (the harness confirms for all): the turn may end its chain.
    expect(c.toRemote.b).toEqual([
      { type: 'conv.to-turn', event: { type: 'playback.complete' } },
      { type: 'conv.to-turn', event: { type: 'history.saved', ok: true } },
    ]);

    c.send(frame({ type: 'control', text: 'conversation-chain-end' }));
    // Late news of another member's turn is not this turn's end.
    c.send({ type: 'turn.remote-ended', uid: 'a', error: null });
    await c.settle();
    expect(c.outline().slice(9)).toEqual(['all-b ← control:conversation-chain-end']);

    c.send({ type: 'turn.remote-ended', uid: 'b', error: null });
    await c.settle();
    // Leaving the remote turn tells its instance to stop it (it has ended there: nothing to stop); Alice speaks next.
    expect(c.toRemote.b!.at(-1)).toEqual({ type: 'conv.turn-stop' });
    expect(c.outline()[10]).toBe('a ← turn-request "Human: hi\\nBob: Bob here." others=Bob');
  });

  test('a turn that failed on its instance: everybody gets the error and the chain end, and the next member speaks', async () => {
    const c = await bobSpeaksFromAfar();
    c.send({ type: 'turn.remote-ended', uid: 'b', error: 'the model did not answer' });
    await c.settle();
    expect(c.told[6]!.event).toEqual({
      type: 'group.deliver',
      frames: [
        { type: 'error', code: 'conversation', message: 'Conversation error: the model did not answer' },
        { type: 'control', text: 'conversation-chain-end' },
      ],
    });
    expect(c.toRemote.b).toEqual([{ type: 'conv.turn-stop' }]);
    expect(c.outline()[7]).toBe('a ← turn-request "Human: hi" others=Bob');
  });

  test('an interrupt: the remote speaker keeps what was heard, every history gets it, and its instance stops the turn', async () => {
    const c = await bobSpeaksFromAfar();
    c.send({ type: 'group.interrupt', uid: 'a', heard: 'Bob here.' });
    await c.settle();
    expect(c.outline().slice(6)).toEqual([
      'b ← remember-interrupt "Bob here."',
      'all ← record ai(Bob):Bob here. | system:[Interrupted by user]',
      'all ← interrupt-signal',
    ]);
    expect(c.toRemote.b).toEqual([{ type: 'conv.turn-stop' }]);
    expect(c.done()).toBe(true);
  });

  test('the remote speaker leaving mid-turn: the others\' chain is closed, and the next member speaks', async () => {
    const c = await bobSpeaksFromAfar();
    c.send({ type: 'conv.member-left', uid: 'b' });
    await c.settle();
    expect(c.outline().slice(6, 8)).toEqual(['all ← force-new-message | control:conversation-chain-end', 'a ← turn-request "Human: hi" others=Bob']);
    expect(c.toRemote.b).toEqual([{ type: 'conv.turn-stop' }]);
  });
});
