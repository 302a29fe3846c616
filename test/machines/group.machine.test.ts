import { createActor, enqueueActions, fromCallback, setup, stopChild, type AnyActorRef, type EventObject } from 'xstate';
import type { ConversationInput } from '../../machines/group-conversation.machine.js';
import type { GroupTrigger, Membership, SessionGroupEvent } from '../../machines/group-protocol.js';
import { groupMachine, type GroupInput, type GroupMachineEvent, type GroupRecordEvent } from '../../machines/group.machine.js';
import { sessionSystemId } from '../../machines/system-ids.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';

/**
 * machines/group.machine.ts alone: a world of session stand-ins registered as `session:<uid>` (as the server
 * registers sessions), each recording what its group tells it, and a fake conversation actor the test ends. What the
 * sockets add (a session turning these events into frames, real turns) is in test/groups/groups.test.ts.
 */

type Told = SessionGroupEvent | EventObject;

function world(options: { maxMembers?: number; rounds?: number; invite?: 'any' | 'owner'; shared?: boolean } = {}) {
  const inbox: Record<string, Told[]> = {};
  const conversations: Array<{ input: ConversationInput; events: EventObject[] }> = [];
  /** A session: it records what it is told; its character's name is read by the group for the prompt. */
  const session = setup({ types: { input: {} as { uid: string; name?: string }, context: {} as { character: { config: { character_name: string } } | null } } }).createMachine({
    context: ({ input }) => {
      inbox[input.uid] = [];
      return { character: input.name ? { config: { character_name: input.name } } : null };
    },
    on: { '*': { actions: ({ event, self }) => void inbox[(self.id as string)]!.push(event) } },
  });
  /** The group conversation's slot: it records its input and what it is sent, and ends when told `finish`. */
  const conversation = setup({ types: { input: {} as ConversationInput, context: {} as { n: number } } }).createMachine({
    context: ({ input }) => ({ n: conversations.push({ input, events: [] }) - 1 }),
    initial: 'running',
    states: {
      running: {
        on: {
          finish: 'finished',
          '*': { actions: ({ context, event }) => void conversations[context.n]!.events.push(event) },
        },
      },
      finished: { type: 'final' },
    },
  });
  /** The record's slot (with a cluster): what it is told, and whether it is still running. */
  const record = { told: [] as GroupRecordEvent[], running: false };
  const recordActor = fromCallback<GroupRecordEvent, { groupId: string }>(({ receive }) => {
    record.running = true;
    receive((event) => void record.told.push(event));
    return () => void (record.running = false);
  });
  const group = groupMachine.provide({ actors: { conversation: conversation as never, record: recordActor } });
  type WorldEvent = { type: 'join'; uid: string; name?: string } | { type: 'leave'; uid: string } | { type: 'create'; input: GroupInput };
  const root = setup({ types: { events: {} as WorldEvent }, actors: { session, group } }).createMachine({
    on: {
      join: {
        actions: enqueueActions(({ event, enqueue }) => {
          if (event.type !== 'join') return;
          const { uid, name } = event;
          enqueue.spawnChild('session', { id: uid, systemId: sessionSystemId(uid), input: { uid, name } });
        }),
      },
      leave: { actions: stopChild(({ event }) => (event.type === 'leave' ? event.uid : '')) },
      create: { actions: enqueueActions(({ event, enqueue }) => event.type === 'create' && enqueue.spawnChild('group', { id: 'group', input: event.input })) },
    },
  });
  const actor = createActor(root).start();
  const ref = (uid: string) => actor.getSnapshot().children[uid] as AnyActorRef;
  const join = (...uids: string[]) => uids.forEach((uid) => actor.send({ type: 'join', uid }));
  const groupRef = () => actor.getSnapshot().children.group as AnyActorRef;
  const create = (owner: string, invitee: string) => {
    const input: GroupInput = { id: `group_${owner}`, owner: { uid: owner, ref: ref(owner) }, firstInvitee: invitee, rules: { invite: options.invite ?? 'owner', maxMembers: options.maxMembers ?? 3, rounds: options.rounds ?? 1 }, shared: options.shared };
    actor.send({ type: 'create', input });
  };
  const send = (event: GroupMachineEvent) => groupRef().send(event);
  const accept = (uid: string) => send({ type: 'group.offer-accepted', uid, ref: ref(uid) });
  /** Frames a session was given since the last `clear`, as `ok: …` / `fail: …` / `update [members] owner?`. */
  const frames = (uid: string) =>
    inbox[uid]!.flatMap((e) => ('frames' in e ? (e.frames as ServerFrame[]) : [])).map((f) =>
      f.type === 'group-operation-result' ? `${f.success ? 'ok' : 'fail'}: ${f.message}` : f.type === 'group-update' ? `update [${f.members.join(',')}]${f.is_owner ? ' owner' : ''}` : f.type,
    );
  const membership = (uid: string) => (inbox[uid]!.filter((e) => e.type === 'group.changed').at(-1) as { membership: Membership | null } | undefined)?.membership;
  const clear = () => Object.values(inbox).forEach((box) => (box.length = 0));
  return { actor, inbox, conversations, record, ref, join, create, send, accept, frames, membership, clear, groupRef, leave: (uid: string) => actor.send({ type: 'leave', uid }) };
}

/** a owns a group of a, b and c (b joined before c). */
function groupOfThree(options: { maxMembers?: number; rounds?: number } = {}) {
  const w = world(options);
  w.join('a', 'b', 'c', 'd');
  w.create('a', 'b');
  w.accept('b');
  w.send({ type: 'group.invite', from: 'a', inviteeUid: 'c' });
  w.accept('c');
  w.clear();
  return w;
}

const TRIGGER = (text: string): GroupTrigger => ({ trigger: { kind: 'text', text, images: [] }, humanName: 'Human', memberAnswerMs: 5000 });

describe('a group: membership', () => {
  test('created on a first invite: the owner is told it is in a group of one; the invitee gets an offer', () => {
    const w = world();
    w.join('a', 'b');
    w.create('a', 'b');
    expect(w.inbox.a).toEqual([{ type: 'group.changed', membership: { id: 'group_a', ref: w.groupRef(), members: ['a'], ownerUid: 'a' }, frames: [] }]);
    expect(w.inbox.b).toEqual([{ type: 'group.offer', groupId: 'group_a', ref: w.groupRef(), inviterUid: 'a' }]);
  });

  test('an accepted offer: the newcomer, the inviter and the others each get upstream\'s frames, in upstream\'s order', () => {
    const w = world();
    w.join('a', 'b', 'c');
    w.create('a', 'b');
    w.accept('b');
    expect(w.frames('a')).toEqual(['ok: Successfully added b to the group', 'update [a,b] owner']);
    expect(w.frames('b')).toEqual(['update [a,b]', 'ok: You have been invited to the group by a']);
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'c' });
    w.accept('c');
    expect(w.frames('b').slice(2)).toEqual(['update [a,b,c]', 'ok: Member c was added to the group']);
    expect(w.membership('c')).toEqual({ id: 'group_a', ref: w.groupRef(), members: ['a', 'b', 'c'], ownerUid: 'a' });
  });

  test("group_invite 'any' (upstream's rule): a member who is not the owner invites, and the group is still bounded", () => {
    const w = world({ invite: 'any', maxMembers: 3 });
    w.join('a', 'b', 'c', 'd');
    w.create('a', 'b');
    w.accept('b');
    w.clear();
    w.send({ type: 'group.invite', from: 'b', inviteeUid: 'c' });
    w.accept('c');
    expect(w.frames('b')).toEqual(['ok: Successfully added c to the group', 'update [a,b,c]']);
    expect(w.frames('c')).toEqual(['update [a,b,c]', 'ok: You have been invited to the group by b']);
    w.send({ type: 'group.invite', from: 'c', inviteeUid: 'd' });
    expect(w.frames('c').at(-1)).toBe('fail: The group is full (at most 3 members)');
  });

  test('invitations refused: not the owner, oneself, somebody already in or invited, nobody of that name, a full group', () => {
    const w = groupOfThree({ maxMembers: 4 });
    w.send({ type: 'group.invite', from: 'b', inviteeUid: 'd' });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'a' });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'c' });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'nobody' });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'd' }); // the fourth place is offered
    w.join('e');
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'd' });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'e' });
    expect(w.frames('b')).toEqual(['fail: Only the group owner can invite members']);
    expect(w.frames('a')).toEqual([
      'fail: You cannot invite yourself',
      'fail: Invitee c is already in a group',
      'fail: Invitee nobody does not exist',
      'fail: Invitee d is already in a group',
      'fail: The group is full (at most 4 members)',
    ]);
    expect(w.inbox.d).toEqual([expect.objectContaining({ type: 'group.offer', inviterUid: 'a' })]);
    expect(w.inbox.e).toEqual([]);
  });

  test('an invitee whose session has ended does not exist', () => {
    const w = world();
    w.join('a', 'b');
    w.leave('b');
    w.create('a', 'b');
    expect(w.frames('a')).toEqual(['fail: Invitee b does not exist', 'update []']);
    expect(w.membership('a')).toBeNull();
    expect(w.groupRef().getSnapshot().status).toBe('done');
  });

  test('a declined first offer closes the group: the owner hears why and is in no group', () => {
    const w = world();
    w.join('a', 'b');
    w.create('a', 'b');
    w.clear();
    w.send({ type: 'group.offer-declined', uid: 'b', reason: 'b is already in a group' });
    expect(w.inbox.a).toEqual([
      { type: 'group.changed', membership: null, frames: [{ type: 'group-operation-result', success: false, message: 'b is already in a group' }, { type: 'group-update', members: [], is_owner: false }] },
    ]);
    expect(w.groupRef().getSnapshot().status).toBe('done');
  });

  test('a declined offer in a group that goes on: the inviter hears why; an accept that comes too late is told there is no group', () => {
    const w = groupOfThree({ maxMembers: 4 });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'd' });
    w.send({ type: 'group.offer-declined', uid: 'd', reason: 'declined' });
    expect(w.frames('a')).toEqual(['fail: declined']);
    expect(w.membership('a')).toMatchObject({ members: ['a', 'b', 'c'] });
    w.accept('d');
    expect(w.inbox.d.at(-1)).toEqual({ type: 'group.changed', membership: null, frames: [{ type: 'group-update', members: [], is_owner: false }] });
    expect(w.membership('a')).toMatchObject({ members: ['a', 'b', 'c'] });
  });

  test('removals refused: a target not in the group, a member removing another; somebody not in the group is ignored', () => {
    const w = groupOfThree();
    w.send({ type: 'group.remove', by: 'c', targetUid: 'x' });
    w.send({ type: 'group.remove', by: 'c', targetUid: 'b' });
    w.send({ type: 'group.remove', by: 'd', targetUid: 'b' });
    expect(w.frames('c')).toEqual(['fail: Target x is not in this group', 'fail: Only group owner or self can remove members']);
    expect(w.frames('b')).toEqual([]);
    expect(w.frames('d')).toEqual([]);
  });

  test('the owner removes a member: the removed, the remover and the others each hear it their way', () => {
    const w = groupOfThree({ maxMembers: 4 });
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'd' });
    w.accept('d');
    w.clear();
    w.send({ type: 'group.remove', by: 'a', targetUid: 'c' });
    expect(w.frames('c')).toEqual(['update []', 'ok: You have been removed from the group']);
    expect(w.membership('c')).toBeNull();
    expect(w.frames('a')).toEqual(['update [a,b,d] owner', 'ok: Successfully removed c from the group']);
    expect(w.frames('b')).toEqual(['update [a,b,d]', 'ok: Member c was removed from the group']);
  });

  test('the owner leaving hands the group to the member who joined next', () => {
    const w = groupOfThree();
    w.send({ type: 'group.remove', by: 'a', targetUid: 'a' });
    expect(w.frames('a')).toEqual(['update []', 'ok: You have been removed from the group']);
    expect(w.frames('b')).toEqual(['update [b,c] owner', 'ok: Member a was removed from the group', 'ok: You are now the owner of the group']);
    expect(w.frames('c')).toEqual(['update [b,c]', 'ok: Member a was removed from the group']);
    expect(w.membership('c')).toMatchObject({ members: ['b', 'c'], ownerUid: 'b' });
    // The new owner may invite; the old one is nobody here.
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'd' });
    expect(w.frames('a')).toHaveLength(2);
  });

  test('a member who disconnects: the others hear it; the owner disconnecting hands the group over too', () => {
    const w = groupOfThree();
    w.leave('a');
    w.send({ type: 'group.member-gone', uid: 'a' });
    expect(w.frames('b')).toEqual(['update [b,c] owner', 'ok: Member a disconnected', 'ok: You are now the owner of the group']);
    expect(w.frames('c')).toEqual(['update [b,c]', 'ok: Member a disconnected']);
  });

  test('down to one member, whether removed or disconnected, the group closes and the last one is in no group', () => {
    const removed = groupOfThree();
    removed.send({ type: 'group.remove', by: 'a', targetUid: 'b' });
    removed.clear();
    removed.send({ type: 'group.remove', by: 'c', targetUid: 'c' });
    expect(removed.frames('a')).toEqual(['update []', 'ok: Member c was removed from the group']);
    expect(removed.membership('a')).toBeNull();
    expect(removed.groupRef().getSnapshot().status).toBe('done');

    const gone = groupOfThree();
    gone.send({ type: 'group.member-gone', uid: 'b' });
    gone.send({ type: 'group.member-gone', uid: 'a' });
    expect(gone.frames('c').slice(-2)).toEqual(['update []', 'ok: Member a disconnected']);
    expect(gone.groupRef().getSnapshot().status).toBe('done');
  });

  test('an invitee who disconnects before answering: the offer is dropped, and a group of one with no offer closes', () => {
    const w = world();
    w.join('a', 'b', 'c');
    w.create('a', 'b');
    w.send({ type: 'group.member-gone', uid: 'b' });
    expect(w.groupRef().getSnapshot().status).toBe('done');
  });
});

describe('a group: conversations and what members see', () => {
  test('input starts a conversation: the initiator speaks first, then the others in join order; names from their characters', () => {
    const w = world();
    w.actor.send({ type: 'join', uid: 'a', name: 'Mao' });
    w.actor.send({ type: 'join', uid: 'b', name: 'Hiyori' });
    w.join('c'); // no character loaded: its uid stands for it
    w.create('a', 'b');
    w.accept('b');
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'c' });
    w.accept('c');
    w.send({ type: 'group.input', uid: 'b', input: TRIGGER('hello') });
    expect(w.conversations).toHaveLength(1);
    const input = w.conversations[0]!.input;
    expect({ ...input, order: input.order.map((m) => m.uid) }).toEqual({
      groupId: 'group_a',
      initiatorUid: 'b',
      order: ['b', 'c', 'a'],
      names: { a: 'Mao', b: 'Hiyori', c: 'c' },
      input: TRIGGER('hello'),
      rounds: 1,
    });
  });

  test('a group of one (offer pending) takes no input', () => {
    const w = world();
    w.join('a', 'b');
    w.create('a', 'b');
    w.send({ type: 'group.input', uid: 'a', input: TRIGGER('alone') });
    expect(w.conversations).toEqual([]);
  });

  test('input during a conversation is not dropped: each starts the next conversation, in order', () => {
    const w = groupOfThree();
    w.send({ type: 'group.input', uid: 'a', input: TRIGGER('first') });
    w.send({ type: 'group.input', uid: 'c', input: TRIGGER('second') });
    w.send({ type: 'group.input', uid: 'b', input: TRIGGER('third') });
    expect(w.conversations).toHaveLength(1);
    w.groupRef().getSnapshot().children.conversation.send({ type: 'finish' });
    expect(w.conversations.map((c) => [c.input.initiatorUid, c.input.order.map((m) => m.uid).join('')])).toEqual([
      ['a', 'abc'],
      ['c', 'cab'],
    ]);
    w.groupRef().getSnapshot().children.conversation.send({ type: 'finish' });
    expect(w.conversations.map((c) => c.input.initiatorUid)).toEqual(['a', 'c', 'b']);
    w.groupRef().getSnapshot().children.conversation.send({ type: 'finish' });
    expect(w.groupRef().getSnapshot().value).toBe('idle');
  });

  test('with rounds 0 (endless), input during a conversation winds it up; the input starts the next one', () => {
    const w = groupOfThree({ rounds: 0 });
    w.send({ type: 'group.input', uid: 'a', input: TRIGGER('first') });
    expect(w.conversations[0]!.input.rounds).toBe(0);
    w.send({ type: 'group.input', uid: 'c', input: TRIGGER('second') });
    expect(w.conversations[0]!.events).toEqual([{ type: 'conv.wind-up' }]);
    w.groupRef().getSnapshot().children.conversation.send({ type: 'finish' });
    expect(w.conversations.map((c) => c.input.initiatorUid)).toEqual(['a', 'c']);
  });

  test('interrupts, playback reports and a member leaving reach the running conversation', () => {
    const w = groupOfThree();
    w.send({ type: 'group.input', uid: 'a', input: TRIGGER('go') });
    w.send({ type: 'group.interrupt', uid: 'b', heard: 'Hel' });
    w.send({ type: 'group.playback-complete', uid: 'c' });
    w.send({ type: 'group.member-gone', uid: 'c' });
    expect(w.conversations[0]!.events).toEqual([
      { type: 'group.interrupt', uid: 'b', heard: 'Hel' },
      { type: 'conv.playback-complete', uid: 'c' },
      { type: 'conv.member-left', uid: 'c' },
    ]);
  });

  test('the conversation stops when the group closes under it', () => {
    const w = groupOfThree();
    w.send({ type: 'group.input', uid: 'a', input: TRIGGER('go') });
    w.send({ type: 'group.member-gone', uid: 'b' });
    expect(w.groupRef().getSnapshot().value).toBe('conversing');
    w.send({ type: 'group.member-gone', uid: 'c' });
    expect(w.groupRef().getSnapshot().status).toBe('done');
    expect(w.groupRef().getSnapshot().children.conversation).toBeUndefined();
  });

  test('what the speaker\'s client starts playing is shown, silent and forwarded, to every other member', () => {
    const w = groupOfThree();
    const displayText = { text: 'Hello. ', name: 'Mao', avatar: 'mao.png' };
    w.send({ type: 'group.audio-play-start', uid: 'b', displayText });
    const forwarded = { type: 'group.deliver', frames: [{ type: 'audio', audio: null, volumes: [], slice_length: 20, display_text: displayText, actions: null, forwarded: true }] };
    expect(w.inbox.a).toEqual([forwarded]);
    expect(w.inbox.c).toEqual([forwarded]);
    expect(w.inbox.b).toEqual([]);
  });

  test('what the conversation tells is delivered to the members as they are now: all, all but one, or one', () => {
    const w = groupOfThree();
    const deliver = (text: string): SessionGroupEvent => ({ type: 'group.deliver', frames: [{ type: 'full-text', text }] });
    w.send({ type: 'conv.tell', to: 'all', event: deliver('everyone') });
    w.send({ type: 'conv.tell', to: 'all', except: 'a', event: deliver('not a') });
    w.send({ type: 'conv.tell', to: 'c', event: deliver('only c') });
    w.send({ type: 'group.member-gone', uid: 'b' });
    w.clear();
    w.send({ type: 'conv.tell', to: 'all', event: deliver('after b left') });
    expect(w.inbox.b).toEqual([]);
    expect(w.inbox.a).toEqual([deliver('after b left')]);
    expect(w.inbox.c).toEqual([deliver('after b left')]);
  });

  test('a member whose session has ended is sent nothing', () => {
    const w = groupOfThree();
    w.leave('b');
    w.send({ type: 'conv.tell', to: 'all', event: { type: 'group.deliver', frames: [] } });
    w.send({ type: 'group.audio-play-start', uid: 'a', displayText: null });
    expect(w.inbox.b).toEqual([]);
    expect(w.inbox.c).toHaveLength(2);
  });
});

describe('a group with a cluster: its record', () => {
  const told = (record: { told: GroupRecordEvent[] }) => record.told.map((e) => `${e.ownerUid}: ${e.members.join(',')}`);

  test('is told the owner and the members at each change (from the first offer on), and stops with the group', () => {
    const w = world({ shared: true });
    w.join('a', 'b', 'c');
    w.create('a', 'b');
    expect(w.record.running).toBe(true);
    expect(told(w.record)).toEqual(['a: a']);
    w.accept('b');
    w.send({ type: 'group.invite', from: 'a', inviteeUid: 'c' });
    w.accept('c');
    // The owner leaves: the group is handed to b.
    w.send({ type: 'group.member-gone', uid: 'a' });
    w.send({ type: 'group.remove', by: 'b', targetUid: 'c' });
    expect(told(w.record)).toEqual(['a: a', 'a: a,b', 'a: a,b,c', 'b: b,c']);
    // Down to one: the group closes, and its record with it.
    expect(w.record.running).toBe(false);
  });

  test('is not started for a group that closes at once (its first invitee does not exist)', () => {
    const w = world({ shared: true });
    w.join('a');
    w.create('a', 'nobody');
    expect(w.groupRef()?.getSnapshot().status).toBe('done');
    expect(w.record.told).toEqual([]);
    expect(w.record.running).toBe(false);
  });

  test('is not started without a cluster', () => {
    const w = world();
    w.join('a', 'b');
    w.create('a', 'b');
    w.accept('b');
    expect(w.record.running).toBe(false);
    expect(w.record.told).toEqual([]);
  });
});

