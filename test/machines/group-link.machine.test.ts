import { createActor, fromCallback, fromPromise, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import { groupLinkMachine, type GroupLinkInput, type WireCommand } from '../../machines/group-link.machine.js';
import { sessionSystemId } from '../../machines/system-ids.js';

/**
 * machines/group-link.machine.ts alone: a fake wire that records what would go to the group's instance, a fake
 * session that records what the link tells it, and a fake turn. Between real servers over Redis:
 * test/cluster/group-across.test.ts.
 */

const INPUT: GroupLinkInput = { groupId: 'group_a', owner: 'instance-a', uid: 'x', inviterUid: 'a' };

function run() {
  const wired: Array<{ kind: string; fields?: Record<string, unknown> }> = [];
  const toSession: EventObject[] = [];
  const turns: Array<{ told: EventObject[]; stopped: boolean; finish: () => void; say: (e: EventObject) => void }> = [];
  const wire = fromCallback<WireCommand, GroupLinkInput>(({ receive }) => receive((c) => c.type === 'wire.send' && wired.push({ kind: c.kind, fields: c.fields })));
  const turn = fromCallback<EventObject, unknown>(({ receive, sendBack }) => {
    const t = { told: [] as EventObject[], stopped: false, finish: () => sendBack({ type: 'fake.done' }), say: (e: EventObject) => sendBack(e) };
    turns.push(t);
    receive((e) => t.told.push(e));
    return () => void (t.stopped = true);
  });
  const session = fromCallback<EventObject>(({ receive }) => receive((e) => toSession.push(e)));
  const heard: Array<{ resolve: (text: string) => void }> = [];
  const transcription = fromPromise<{ text: string; error: null }, unknown>(() => new Promise((resolve) => heard.push({ resolve: (text) => resolve({ text, error: null }) })));
  const link = groupLinkMachine.provide({ actors: { wire, turn: turn as never, transcription: transcription as never } });
  const root = setup({ actors: { link, session } }).createMachine({
    invoke: [
      { src: 'session', systemId: sessionSystemId('x') },
      { id: 'link', src: 'link', input: INPUT },
    ],
  });
  const actor = createActor(root, { clock: new SimulatedClock() }).start();
  const ref = actor.getSnapshot().children.link as AnyActorRef;
  const mail = (kind: string, fields: Record<string, unknown> = {}) => ref.send({ type: 'group.mail', mail: { kind, from: 'instance-a', group: 'group_a', uid: 'x', ...fields } });
  return { ref, wired, toSession, turns, heard, mail, state: () => JSON.stringify(ref.getSnapshot().value), status: () => ref.getSnapshot().status };
}

describe('a session\'s link to a group on another instance', () => {
  test('the offer goes to the session as the group\'s own; its answer goes back over the wire', () => {
    const r = run();
    expect(r.toSession[0]).toMatchObject({ type: 'group.offer', groupId: 'group_a', inviterUid: 'a', ref: r.ref });
    r.ref.send({ type: 'group.offer-accepted', uid: 'x', ref: r.ref });
    expect(r.wired).toEqual([{ kind: 'accepted', fields: {} }]);
    // The group's news reaches the session with this link as the group.
    r.mail('changed', { membership: { id: 'group_a', members: ['a', 'x'], ownerUid: 'a' }, frames: [{ type: 'group-update', members: ['a', 'x'], is_owner: false }] });
    expect(r.toSession.at(-1)).toMatchObject({ type: 'group.changed', membership: { id: 'group_a', ref: r.ref, members: ['a', 'x'] } });
  });

  test('a declined offer ends the link', () => {
    const r = run();
    r.ref.send({ type: 'group.offer-declined', uid: 'x', reason: 'Invitee x is already in a group' });
    expect(r.wired).toEqual([{ kind: 'declined', fields: { reason: 'Invitee x is already in a group' } }]);
    expect(r.status()).toBe('done');
  });

  test('the member\'s turn runs here: started, its events and its end go over the wire; the group\'s answers reach it', () => {
    const r = run();
    r.ref.send({ type: 'group.offer-accepted', uid: 'x', ref: r.ref });
    r.mail('turn-request', { request: { text: 'a: hello', proactive: false, images: [], humanName: 'Human', otherAis: ['Mao'] } });
    expect(r.toSession.at(-1)).toMatchObject({ type: 'group.turn-request', text: 'a: hello', replyTo: r.ref });
    r.ref.send({ type: 'group.turn-input', input: { speaker: { name: 'Shizuku', avatar: 's.png' } } });
    expect(r.wired.at(-1)).toEqual({ kind: 'turn-started', fields: { speaker: { name: 'Shizuku', avatar: 's.png' } } });
    const [turn] = r.turns;
    turn!.say({ type: 'turn.frame', frame: { type: 'full-text', text: 'Hi' } } as EventObject);
    expect(r.wired.at(-1)).toMatchObject({ kind: 'turn-event', fields: { event: { type: 'turn.frame', frame: { type: 'full-text', text: 'Hi' } } } });
    // This member's client gets its turn's frames from here, in order; the group hands them to the others.
    expect(r.toSession.at(-1)).toEqual({ type: 'group.deliver', frames: [{ type: 'full-text', text: 'Hi' }] });
    r.mail('to-turn', { event: { type: 'playback.complete' } });
    expect(turn!.told).toEqual([{ type: 'playback.complete' }]);
    // The conversation moved on (an interrupt): the turn here stops.
    r.mail('turn-stop');
    expect(turn!.stopped).toBe(true);
    expect(r.state()).toContain('idle');
  });

  test('the session\'s own events go to the group; leaving ends the link; so does the group\'s silence', () => {
    const r = run();
    r.ref.send({ type: 'group.offer-accepted', uid: 'x', ref: r.ref });
    r.ref.send({ type: 'group.input', uid: 'x', input: { trigger: { kind: 'text', text: 'hi', images: [] }, humanName: 'Human', asr: { secret: true }, memberAnswerMs: 5000 } } as never);
    const sent = r.wired.at(-1)!.fields!.event as { input: Record<string, unknown> };
    expect(sent.input).not.toHaveProperty('asr');
    expect(sent.input.trigger).toEqual({ kind: 'text', text: 'hi', images: [] });
    r.ref.send({ type: 'group.member-gone', uid: 'x' });
    expect(r.status()).toBe('done');

    const quiet = run();
    quiet.ref.send({ type: 'group.offer-accepted', uid: 'x', ref: quiet.ref });
    quiet.ref.send({ type: 'wire.silent' });
    expect(quiet.toSession.at(-1)).toEqual({ type: 'group.changed', membership: null, frames: [{ type: 'group-update', members: [], is_owner: false }] });
    expect(quiet.status()).toBe('done');
  });

  test('voice input is transcribed here, beside a turn running here: the session gets its transcription, the group the text', async () => {
    const r = run();
    r.ref.send({ type: 'group.offer-accepted', uid: 'x', ref: r.ref });
    r.ref.send({ type: 'group.turn-input', input: { speaker: { name: 'Shizuku', avatar: 's.png' } } });
    const samples = new Float32Array(16000);
    r.ref.send({ type: 'group.input', uid: 'x', input: { trigger: { kind: 'audio', samples, images: [] }, humanName: 'Human', asr: {}, memberAnswerMs: 5000 } } as never);
    expect(r.turns[0]!.stopped).toBe(false);
    r.heard[0]!.resolve('good morning');
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.toSession.at(-1)).toEqual({ type: 'group.deliver', frames: [{ type: 'user-input-transcription', text: 'good morning' }] });
    expect(r.wired.at(-1)).toEqual({
      kind: 'event',
      fields: { event: { type: 'group.input', uid: 'x', input: { trigger: { kind: 'text', text: 'good morning', images: [] }, humanName: 'Human', memberAnswerMs: 5000 } } },
    });
    expect(r.turns[0]!.stopped).toBe(false);
  });
});
