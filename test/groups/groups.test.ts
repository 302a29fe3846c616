import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import { tokens } from '../fakes/fake-ai-server.js';
import { shellWrappedServer } from '../helpers/mcp-fixture.js';
import { processesWith, settleTo } from '../helpers/process-probes.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

type F = Record<string, any>;

/** A client that behaves like the web frontend during a reply: it reports playback start and end. */
class Member {
  uid = '';
  historyUid = '';
  constructor(readonly client: TestClient) {}

  static async join(url: string): Promise<Member> {
    const client = await TestClient.connect(url);
    await client.ready();
    const member = new Member(client);
    member.uid = (client.ofType('set-model-and-conf')[0] as F).client_uid;
    client.send({ type: 'create-new-history' });
    member.historyUid = ((await client.next('new-history-created')) as F).history_uid;
    client.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as F;
      // As the frontend: each audio it plays is announced (the server shows it to the others), and the end of the
      // reply's playback is reported.
      if (frame.type === 'audio' && !frame.forwarded) client.send({ type: 'audio-play-start', display_text: frame.display_text, forwarded: false });
      if (frame.type === 'backend-synth-complete') setTimeout(() => client.send({ type: 'frontend-playback-complete' }), 20);
    });
    client.frames.length = 0;
    return member;
  }

  of(type: string): F[] {
    return this.client.ofType(type) as F[];
  }

  results(): string[] {
    return this.of('group-operation-result').map((f) => `${f.success ? 'ok' : 'fail'}: ${f.message}`);
  }

  lastUpdate(): F | undefined {
    return this.of('group-update').at(-1);
  }

  chainEnds(): number {
    return this.client.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
  }

  history(root: string): F[] {
    return JSON.parse(readFileSync(path.join(root, 'chat_history', 'mao_pro_001', `${this.historyUid}.json`), 'utf8')).slice(1);
  }

  clear(): void {
    this.client.frames.length = 0;
  }
}


describe('groups (docs/protocol.md: Groups)', () => {
  const harness = useFakeEngineServer({
    conf: { 'system_config.group_max_members': 3, 'system_config.playback_slack_seconds': 1 },
  });
  let replies = 0;
  beforeEach(() => {
    replies = 0;
    harness.fake.llm = () => ({ tokens: tokens(`Reply number ${++replies}. Nice to meet you.`) });
  });
  const liveActors = () => harness.server.census.countExcept(SERVER_ACTOR_KINDS);
  const noActorsLeft = () => until(`no actors, still ${JSON.stringify(harness.server.census.byKind())}`, () => liveActors() === 0);

  async function formGroup(): Promise<[Member, Member, Member]> {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => Member.join(harness.server.wsUrl))) as [Member, Member, Member];
    a.client.send({ type: 'add-client-to-group', invitee_uid: b.uid });
    await until('b joined', () => b.lastUpdate()?.members.length === 2);
    a.client.send({ type: 'add-client-to-group', invitee_uid: c.uid });
    await until('c joined', () => c.lastUpdate()?.members.length === 3 && b.lastUpdate()?.members.length === 3 && a.lastUpdate()?.members.length === 3);
    return [a, b, c];
  }

  // The group's rules (who may invite, the size limit, removals, the owner's hand-over, closing at one member) are
  // tested on the machine (test/machines/group.machine.test.ts). Here: what the sessions add over a socket.
  test('membership over sockets: upstream texts in upstream order; one group at a time; a session in no group says so', async () => {
    const [a, b, c] = await formGroup();
    expect(a.results()).toEqual([`ok: Successfully added ${b.uid} to the group`, `ok: Successfully added ${c.uid} to the group`]);
    expect(a.lastUpdate()).toEqual({ type: 'group-update', members: [a.uid, b.uid, c.uid], is_owner: true });
    expect(b.results()).toEqual([`ok: You have been invited to the group by ${a.uid}`, `ok: Member ${c.uid} was added to the group`]);
    expect(c.of('group-update')).toEqual([{ type: 'group-update', members: [a.uid, b.uid, c.uid], is_owner: false }]);
    expect(c.results()).toEqual([`ok: You have been invited to the group by ${a.uid}`]);
    // The inviter's frames come in upstream's order: the result, then the update.
    expect(a.client.frames.slice(0, 2).map((f) => f.type)).toEqual(['group-operation-result', 'group-update']);

    // A member of a group cannot join another: d's new group could not get its first member, so it is closed again.
    const d = await Member.join(harness.server.wsUrl);
    d.client.send({ type: 'add-client-to-group', invitee_uid: a.uid });
    await until('d answered', () => d.results().length === 1 && d.of('group-update').length === 1);
    expect(d.results()).toEqual([`fail: Invitee ${a.uid} is already in a group`]);
    expect(d.lastUpdate()).toEqual({ type: 'group-update', members: [], is_owner: false });
    d.client.send({ type: 'remove-client-from-group', target_uid: d.uid });
    await until('d refused', () => d.results().length === 2);
    expect(d.results().at(-1)).toBe(`fail: Target ${d.uid} is not in any group`);

    // The session answers request-group-info from what its group last told it.
    c.client.send({ type: 'request-group-info' });
    await until('info', () => c.of('group-update').length === 2);
    expect(c.lastUpdate()).toEqual({ type: 'group-update', members: [a.uid, b.uid, c.uid], is_owner: false });
    for (const m of [a, b, c, d]) expect(m.of('error')).toEqual([]);
    await Promise.all([a, b, c, d].map((m) => m.client.close()));
    await noActorsLeft();
  }, 30_000);

  test('a group conversation: every character answers once, audio to the speaker, forwarded to the others, history for all', async () => {
    const [a, b, c] = await formGroup();
    for (const m of [a, b, c]) m.clear();
    b.client.send({ type: 'text-input', text: 'Hello everyone', images: [] });
    await until('three member turns', () => [a, b, c].every((m) => m.chainEnds() === 3), 15000);
    // Nothing else is on its way: every member's session has answered a frame sent after the conversation ended.
    await Promise.all([a, b, c].map((m) => m.client.roundTrip()));

    expect(b.of('user-input-transcription')).toEqual([]);
    for (const m of [a, c]) expect(m.of('user-input-transcription')).toEqual([{ type: 'user-input-transcription', text: 'Hello everyone' }]);
    // The initiator's character speaks first, then the others in join order: b, c, a.
    const ownAudio = (m: Member) => m.of('audio').filter((f) => !f.forwarded).map((f) => f.display_text.text);
    expect(ownAudio(b)).toEqual(['Reply number 1. ', 'Nice to meet you.']);
    expect(ownAudio(c)).toEqual(['Reply number 2. ', 'Nice to meet you.']);
    expect(ownAudio(a)).toEqual(['Reply number 3. ', 'Nice to meet you.']);
    // Each member sees the others' sentences as silent forwarded payloads.
    const forwarded = (m: Member) => m.of('audio').filter((f) => f.forwarded);
    expect(forwarded(a).map((f) => f.display_text.text)).toEqual(['Reply number 1. ', 'Nice to meet you.', 'Reply number 2. ', 'Nice to meet you.']);
    expect(forwarded(a)[0]).toMatchObject({ audio: null, volumes: [], actions: null, forwarded: true });
    for (const m of [a, b, c]) {
      const control = m.client.frames.filter((f) => f.type === 'control').map((f) => f.text);
      expect(control).toEqual(Array(3).fill(['conversation-chain-start', 'conversation-chain-end']).flat());
      expect(m.of('force-new-message')).toHaveLength(3);
      expect(m.of('backend-synth-complete')).toHaveLength(1); // only for its own character's turn
      expect(m.of('error')).toEqual([]);
    }
    // Each agent is told what it has not heard; the group prompt is in its system prompt (members only, U29).
    const requests = harness.fake.chatRequests().slice(-3);
    expect(requests[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: 'Human: Hello everyone' });
    expect(requests[1]!.body.messages.at(-1).content).toBe('Human: Hello everyone\nMao: Reply number 1. Nice to meet you.');
    expect(requests[2]!.body.messages[0].content).toContain('group conversation');
    // Every member's history has the whole exchange, already when the last chain-end arrived (docs/decisions.md, 8: each
    // member turn's chain ends once its reply is on disk in every member's history).
    for (const m of [a, b, c]) {
      expect(m.history(harness.fixture.root).map((h) => `${h.role}:${h.content}`)).toEqual([
        'human:Hello everyone',
        'ai:Reply number 1. Nice to meet you.',
        'ai:Reply number 2. Nice to meet you.',
        'ai:Reply number 3. Nice to meet you.',
      ]);
    }
    // Only the speaker's agent remembers its own reply.
    const memory = (m: Member) => (harness.server.actor.system.get(`session:${m.uid}`) as AnyActorRef).getSnapshot().context.memory as F[];
    expect(memory(c).map((x) => x.content)).toEqual(['Human: Hello everyone\nMao: Reply number 1. Nice to meet you.', 'Reply number 2. Nice to meet you.']);
    await Promise.all([a, b, c].map((m) => m.client.close()));
    await noActorsLeft();
  }, 30_000);

  test('input during a group conversation is not dropped (U30): it starts the next conversation when this one ends', async () => {
    const [a, b, c] = await formGroup();
    for (const m of [a, b, c]) m.clear();
    harness.fake.llm = () => ({ tokens: tokens(`Reply number ${++replies}.`), delayMs: 30 });
    a.client.send({ type: 'text-input', text: 'First topic', images: [] });
    await until('first speaker started', () => a.of('audio').length >= 1, 10000);
    c.client.send({ type: 'text-input', text: 'Second topic', images: [] });
    await until('two conversations', () => [a, b, c].every((m) => m.chainEnds() === 6), 20000);
    for (const m of [a, b]) expect(m.of('user-input-transcription').map((f) => f.text)).toEqual(m === a ? ['Second topic'] : ['First topic', 'Second topic']);
    // The second conversation starts with its initiator's character and tells it about the new input.
    const requests = harness.fake.chatRequests().slice(-3);
    expect(requests[0]!.body.messages.at(-1).content).toBe('Human: Second topic');
    expect(c.of('audio').filter((f) => !f.forwarded).map((f) => f.display_text.text)).toEqual(['Reply number 3.', 'Reply number 4.']);
    await Promise.all([a, b, c].map((m) => m.client.close()));
    await noActorsLeft();
  }, 40_000);

  test('voice input in a group: transcribed with the sender\'s recogniser, shown to everybody, answered by the group', async () => {
    const [a, b, c] = await formGroup();
    for (const m of [a, b, c]) m.clear();
    harness.fake.asr.text = 'good morning all';
    const chunk = Array.from({ length: 4096 }, (_, i) => Math.sin(i / 10) * 0.5);
    for (let i = 0; i < 2; i++) a.client.send({ type: 'mic-audio-data', audio: chunk });
    a.client.send({ type: 'mic-audio-end', images: [] });
    await until('three member turns', () => [a, b, c].every((m) => m.chainEnds() === 3), 15000);
    for (const m of [a, b, c]) expect(m.of('user-input-transcription')).toEqual([{ type: 'user-input-transcription', text: 'good morning all' }]);
    expect(harness.fake.chatRequests().slice(-3)[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: 'Human: good morning all' });
    await Promise.all([a, b, c].map((m) => m.client.close()));
    await noActorsLeft();
  }, 30_000);

  test('a group interrupt stops the speaker only; a member leaving mid-turn does not stop the others; nothing is left', async () => {
    const [a, b, c] = await formGroup();
    for (const m of [a, b, c]) m.clear();
    harness.fake.llm = () => ({ tokens: tokens(`Reply number ${++replies}. This is a long answer that takes a while.`), delayMs: 60 });
    c.client.send({ type: 'text-input', text: 'Tell me a story', images: [] });
    await until('first audio of c', () => c.of('audio').length >= 1, 10000);
    const requestsBefore = harness.fake.chatRequests().length;
    a.client.send({ type: 'interrupt-signal', text: 'Reply number 1.' });
    await until('interrupt broadcast', () => [a, b, c].every((m) => m.of('interrupt-signal').length === 1));
    expect(a.of('interrupt-signal')[0]).toEqual({ type: 'interrupt-signal', text: 'conversation-interrupted' });
    await until('request closed', () => harness.fake.chatRequests().slice(-1)[0]!.abortedAt !== undefined || harness.fake.chatRequests().slice(-1)[0]!.finished);
    // Every engine request of the stopped turn is closed, and the speaker's session has answered a later frame: no audio
    // of that turn can still be on its way.
    await until('the fake engines idle', () => harness.fake.openResponses() === 0);
    const audioAfter = c.of('audio').length;
    await c.client.roundTrip();
    expect(c.of('audio').length).toBe(audioAfter);
    expect(harness.fake.chatRequests().length).toBe(requestsBefore);
    // Only the speaker's agent keeps the heard part and the marker (U33).
    const memory = (m: Member) => (harness.server.actor.system.get(`session:${m.uid}`) as AnyActorRef).getSnapshot().context.memory as F[];
    expect(memory(c).slice(-2).map((x) => x.content)).toEqual(['Reply number 1....', '[Interrupted by user]']);
    expect(memory(a).map((x) => x.content)).toEqual([]);

    // A new round; the second speaker (a) leaves in the middle of its turn.
    for (const m of [a, b, c]) m.clear();
    replies = 0;
    harness.fake.llm = () => ({ tokens: tokens(`Reply number ${++replies}. Another slow answer here.`), delayMs: 40 });
    c.client.send({ type: 'text-input', text: 'Again', images: [] });
    await until('a speaks', () => a.of('audio').filter((f) => !f.forwarded).length >= 1, 15000);
    await a.client.close();
    await until('b and c finish the round', () => b.chainEnds() === 3 && c.chainEnds() === 3, 15000);
    for (const m of [b, c]) {
      expect(m.results()).toContain(`ok: Member ${a.uid} disconnected`);
      expect(m.lastUpdate()!.members).toEqual([b.uid, c.uid].sort((x, y) => [a.uid, b.uid, c.uid].indexOf(x) - [a.uid, b.uid, c.uid].indexOf(y)));
      expect(m.of('error')).toEqual([]);
    }
    expect(b.of('audio').filter((f) => !f.forwarded).map((f) => f.display_text.text)[0]).toBe('Reply number 3. ');
    await Promise.all([b, c].map((m) => m.client.close()));
    await noActorsLeft();
  }, 40_000);
});

describe('a group whose characters use MCP tools', () => {
  const tools = shellWrappedServer();
  const harness = useFakeEngineServer({
    conf: {
      'character_config.agent_config.agent_settings.basic_memory_agent.use_mcpp': true,
      'character_config.agent_config.agent_settings.basic_memory_agent.mcp_enabled_servers': ['tools'],
      'system_config.playback_slack_seconds': 1,
    },
    prepare: (fixture) => fixture.write('mcp_servers.json', JSON.stringify({ mcp_servers: { tools: tools.spec } })),
  });

  test('tool status goes to every member, with the speaking character\'s name; the shared tool server outlives the members', async () => {
    harness.fake.llm = (body: any) => {
      const used = body.messages.some((m: F) => m.role === 'tool');
      const first = harness.fake.chatRequests().length === 1;
      return first && !used ? { tokens: [], toolCalls: [{ id: 'call_g', name: 'echo', arguments: '{"text":"group"}' }] } : { tokens: tokens('Done.') };
    };
    const a = await Member.join(harness.server.wsUrl);
    const b = await Member.join(harness.server.wsUrl);
    a.client.send({ type: 'add-client-to-group', invitee_uid: b.uid });
    await until('b joined', () => b.lastUpdate()?.members.length === 2);
    a.clear();
    b.clear();
    a.client.send({ type: 'text-input', text: 'Use the tool', images: [] });
    await until('two member turns', () => [a, b].every((m) => m.chainEnds() === 2), 15000);
    for (const m of [a, b]) {
      expect(m.of('tool_call_status').map((f) => `${f.tool_id}:${f.status}:${f.content}:${f.name}`)).toEqual([
        'call_g:running:Input: {"text":"group"}:Mao',
        'call_g:completed:group:Mao',
      ]);
    }
    expect(processesWith(tools.tag)).toHaveLength(2); // one shared group: sh and the server
    await Promise.all([a, b].map((m) => m.client.close()));
    expect(await settleTo(() => harness.server.census.countExcept(SERVER_ACTOR_KINDS), 0, 5000)).toBe(0);
    expect(processesWith(tools.tag)).toHaveLength(2); // kept warm for the next session (docs/decisions.md, 12)
  }, 30_000);
});

