import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

type F = Record<string, any>;

/** A group member's client: it reports the end of playback of its own character's replies, as the web client does. */
async function join(url: string): Promise<{ client: TestClient; uid: string }> {
  const client = await TestClient.connect(url);
  await client.ready();
  const uid = (client.ofType('set-model-and-conf')[0] as F).client_uid as string;
  client.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as F;
    if (frame.type === 'backend-synth-complete') client.send({ type: 'frontend-playback-complete' });
  });
  client.frames.length = 0;
  return { client, uid };
}

const results = (client: TestClient) => (client.ofType('group-operation-result') as F[]).map((f) => `${f.success ? 'ok' : 'fail'}: ${f.message}`);
const members = (client: TestClient) => (client.ofType('group-update') as F[]).at(-1)?.members as string[] | undefined;
const chainEnds = (client: TestClient) => client.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;

describe("groups as upstream runs them (the defaults: any member invites; group_conversation_rounds 0: until interrupted)", () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.group_conversation_rounds': 0, 'system_config.playback_slack_seconds': 1 } });
  let replies = 0;
  beforeEach(() => {
    replies = 0;
    harness.fake.llm = () => ({ tokens: tokens(`Reply number ${++replies}.`), delayMs: 20 });
  });
  const noActorsLeft = () => until('no actors left', () => harness.server.census.countExcept(SERVER_ACTOR_KINDS) === 0);

  test('a member who is not the owner invites, and the AIs talk round after round until someone interrupts', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => join(harness.server.wsUrl)));
    a!.client.send({ type: 'add-client-to-group', invitee_uid: b!.uid });
    await until('b joined', () => members(b!.client)?.length === 2);
    // b is not the owner: upstream lets it invite all the same.
    b!.client.send({ type: 'add-client-to-group', invitee_uid: c!.uid });
    await until('c joined', () => [a, b, c].every((m) => members(m!.client)?.length === 3));
    expect(results(b!.client)).toContain(`ok: Successfully added ${c!.uid} to the group`);
    expect(results(c!.client)).toEqual([`ok: You have been invited to the group by ${b!.uid}`]);

    a!.client.send({ type: 'text-input', text: 'Talk among yourselves', images: [] });
    // Two members make a round of two turns; past two full rounds the conversation is still going.
    await until('more than two rounds', () => chainEnds(a!.client) > 6, 20_000);
    a!.client.send({ type: 'interrupt-signal', text: '' });
    await until('interrupted', () => [a, b, c].every((m) => m!.client.ofType('interrupt-signal').length === 1));
    // Nothing more is said after the interrupt: every member's chain is closed and the model is asked no more.
    await Promise.all([a, b, c].map((m) => m!.client.roundTrip()));
    const asked = harness.fake.chatRequests().length;
    const ends = chainEnds(a!.client);
    a!.client.send({ type: 'heartbeat' });
    await a!.client.next('heartbeat-ack');
    expect(harness.fake.chatRequests().length).toBe(asked);
    expect(chainEnds(a!.client)).toBe(ends);
    for (const m of [a, b, c]) expect(m!.client.ofType('error')).toEqual([]);
    await Promise.all([a, b, c].map((m) => m!.client.close()));
    await noActorsLeft();
  }, 40_000);

  test('new input during an endless conversation winds it up after the current speaker and starts the next one', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => join(harness.server.wsUrl)));
    a!.client.send({ type: 'add-client-to-group', invitee_uid: b!.uid });
    await until('b joined', () => members(a!.client)?.length === 2 && members(b!.client)?.length === 2);
    a!.client.send({ type: 'text-input', text: 'First topic', images: [] });
    await until('two turns of the first conversation', () => chainEnds(b!.client) >= 2, 20_000);
    b!.client.send({ type: 'text-input', text: 'Second topic', images: [] });
    await until('the second conversation started', () => b!.client.ofType('user-input-transcription').some((f) => (f as F).text === 'Second topic') || a!.client.ofType('user-input-transcription').some((f) => (f as F).text === 'Second topic'), 20_000);
    await until('its first reply was asked for', () => harness.fake.chatRequests().some((r) => r.body.messages.at(-1)?.content === 'Human: Second topic'), 20_000);
    a!.client.send({ type: 'interrupt-signal', text: '' });
    await until('interrupted', () => a!.client.ofType('interrupt-signal').length === 1);
    await Promise.all([a, b].map((m) => m!.client.close()));
    await noActorsLeft();
  }, 40_000);
});

describe('groups with group_invite: owner', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.group_invite': 'owner' } });

  test('only the owner invites; another member is told so in upstream-style words', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => join(harness.server.wsUrl)));
    a!.client.send({ type: 'add-client-to-group', invitee_uid: b!.uid });
    await until('b joined', () => members(b!.client)?.length === 2);
    b!.client.send({ type: 'add-client-to-group', invitee_uid: c!.uid });
    await until('b answered', () => results(b!.client).length === 2);
    expect(results(b!.client).at(-1)).toBe('fail: Only the group owner can invite members');
    expect(c!.client.ofType('group-update')).toEqual([]);
    await Promise.all([a, b, c].map((m) => m!.client.close()));
  }, 30_000);
});
