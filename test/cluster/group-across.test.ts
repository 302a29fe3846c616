import { createClient } from '@redis/client';
import { CLUSTER_SYSTEM_ID } from '../../machines/cluster.machine.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { redisServerPath, startRedis } from '../helpers/redis-server.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until, type Frame } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

/**
 * A chat group whose members are connected to different instances (docs/cluster.md): two servers on one Redis. The
 * group runs on the inviter's instance; the other member's turns run on its own instance, with its own engines. The
 * same conversation gives every member the same frames, in the same order, as when both are on one instance.
 */

type F = Record<string, any>;

/** A client that behaves like the web frontend during a reply: it reports playback start and end. */
async function join(url: string) {
  const client = await TestClient.connect(url);
  await client.ready();
  const uid = (client.ofType('set-model-and-conf')[0] as F).client_uid as string;
  client.send({ type: 'create-new-history' });
  await client.next('new-history-created');
  client.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as F;
    if (frame.type === 'audio' && !frame.forwarded) client.send({ type: 'audio-play-start', display_text: frame.display_text, forwarded: false });
    if (frame.type === 'backend-synth-complete') client.send({ type: 'frontend-playback-complete' });
  });
  return { client, uid };
}
type Member = Awaited<ReturnType<typeof join>>;

const updates = (m: Member) => m.client.ofType('group-update') as F[];
const chainEnds = (m: Member) => m.client.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
/** Frames from `from` on, with the members' uids named by their part, so that two runs compare. */
const normalized = (m: Member, from: number, names: Record<string, string>) =>
  JSON.parse(Object.entries(names).reduce((text, [uid, name]) => text.split(uid).join(name), JSON.stringify(m.client.frames.slice(from)))) as Frame[];

(redisServerPath ? describe : describe.skip)(`a chat group across two instances${redisServerPath ? '' : ' [skipped: needs redis-server on PATH (Debian package redis-server)]'}`, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const clusterOf = (id: string) => ({ redis_url: '', instance_id: id, census_every_seconds: 0.1, census_ttl_seconds: 1, proxy_lease_seconds: 1 });
  const clusterA = clusterOf('instance-a');
  const clusterB = clusterOf('instance-b');
  // Instance b reaches Redis through a relay the test can cut (b's network gone, as if it died).
  let relay: Awaited<ReturnType<typeof startTcpRelay>>;
  beforeAll(async () => {
    redis = await startRedis();
    relay = await startTcpRelay(Number(new URL(redis.url).port));
    clusterA.redis_url = redis.url;
    clusterB.redis_url = relay.url;
  });
  afterAll(async () => {
    await relay?.close();
    await redis?.stop();
  });
  // Bounds far beyond the test's waits: a member turn on the other instance must end when its client reports the
  // playback and its reply is on disk (both come back over the wire), never by running out one of these.
  const bounds = { 'system_config.playback_slack_seconds': 600, 'system_config.history_write_timeout_seconds': 600 };
  const conf = (cluster: object) => ({ conf: { 'system_config.cluster': cluster, 'system_config.group_conversation_rounds': 1, ...bounds } });
  const a = useFakeEngineServer(conf(clusterA));
  const b = useFakeEngineServer(conf(clusterB));
  beforeEach(() => {
    for (const h of [a, b]) h.fake.llm = () => ({ tokens: tokens('Nice to meet you all. What a day.') });
  });
  const knows = (uid: string) => () => (a.server.actor.system.get(CLUSTER_SYSTEM_ID)?.getSnapshot() as { context: { elsewhere: Record<string, string> } }).context.elsewhere[uid] === 'instance-b';

  /** The inviter invites, the invitee joins; the invitee says hello; both characters answer once. */
  async function conversation(inviter: Member, invitee: Member) {
    inviter.client.send({ type: 'add-client-to-group', invitee_uid: invitee.uid });
    await until('the invitee in the group', () => updates(invitee).at(-1)?.members.length === 2 && updates(inviter).at(-1)?.members.length === 2, 10_000);
    const from = [inviter.client.frames.length, invitee.client.frames.length];
    invitee.client.send({ type: 'text-input', text: 'Hello everyone', images: [] });
    await until('two member turns', () => chainEnds(inviter) === 2 && chainEnds(invitee) === 2, 20_000);
    await Promise.all([inviter.client.roundTrip(), invitee.client.roundTrip()]);
    const names = { [inviter.uid]: 'INVITER', [invitee.uid]: 'INVITEE' };
    return { inviter: normalized(inviter, from[0]!, names), invitee: normalized(invitee, from[1]!, names) };
  }

  test('the same frames in the same order as on one instance; the remote member\'s turn runs on its own instance', async () => {
    const pair = [await join(a.server.wsUrl), await join(a.server.wsUrl)] as const;
    const one = await conversation(...pair);
    await Promise.all(pair.map((m) => m.client.close()));
    const requestsOnB = b.fake.chatRequests().length;

    const inviter = await join(a.server.wsUrl);
    const invitee = await join(b.server.wsUrl);
    await until('instance-a knows the invitee is on instance-b', knows(invitee.uid));
    const across = await conversation(inviter, invitee);
    expect(across.invitee).toEqual(one.invitee);
    expect(across.inviter).toEqual(one.inviter);
    expect(across.invitee.filter((f) => f.type === 'audio' && !f.forwarded)).toHaveLength(2);
    // The invitee's character spoke with its own instance's model.
    expect(b.fake.chatRequests().length).toBe(requestsOnB + 1);
    for (const m of [inviter, invitee]) expect(m.client.ofType('error')).toEqual([]);

    // The group's record in Redis: the instance that runs it, its owner and members, with a lease's time to live;
    // every instance lists it.
    const other = createClient({ url: redis.url });
    await other.connect();
    const key = `vas:groups:group_${inviter.uid}`;
    expect(await other.hGetAll(key)).toMatchObject({ instance: 'instance-a', owner_uid: inviter.uid, members: JSON.stringify([inviter.uid, invitee.uid]) });
    const ttl = await other.pTTL(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(clusterA.proxy_lease_seconds * 1000);
    const listed = (await (await fetch(`${b.server.url}/sessions/instances`)).json()) as { groups: Array<{ group_id: string; instance: string; members: string[] }> };
    expect(listed.groups).toContainEqual(expect.objectContaining({ group_id: `group_${inviter.uid}`, instance: 'instance-a', members: [inviter.uid, invitee.uid] }));

    // The remote member leaves: the group of one closes, and nothing of it is left on either instance.
    await invitee.client.close();
    await until('the inviter in no group', () => updates(inviter).at(-1)?.members.length === 0, 10_000);
    await inviter.client.close();
    for (const h of [a, b]) await until(`no actors left, still ${JSON.stringify(h.server.census.byKind())}`, () => h.server.census.countExcept(SERVER_ACTOR_KINDS) === 0, 10_000);
    await until('the group\'s record gone', async () => (await other.exists(key)) === 0);
    other.destroy();
  }, 60_000);

  test('a uid no instance knows is answered as upstream does; an instance cut off ends its members\' membership on both sides and frees the group', async () => {
    const inviter = await join(a.server.wsUrl);
    inviter.client.send({ type: 'add-client-to-group', invitee_uid: 'nobody-anywhere' });
    await until('the answer', () => inviter.client.ofType('group-operation-result').length === 1);
    expect(inviter.client.ofType('group-operation-result')[0]).toMatchObject({ success: false, message: 'Invitee nobody-anywhere does not exist' });

    const invitee = await join(b.server.wsUrl);
    await until('instance-a knows the invitee is on instance-b', knows(invitee.uid));
    inviter.client.send({ type: 'add-client-to-group', invitee_uid: invitee.uid });
    await until('the invitee in the group', () => updates(inviter).at(-1)?.members.length === 2, 10_000);
    // Nothing passes between b and Redis any more: each side stops hearing the other's pings.
    relay.cut();
    await until('the inviter in no group', () => updates(inviter).at(-1)?.members.length === 0, 10_000);
    await until('the invitee in no group', () => updates(invitee).at(-1)?.members.length === 0, 10_000);
    await Promise.all([inviter.client.close(), invitee.client.close()]);
    for (const h of [a, b]) await until(`no actors left, still ${JSON.stringify(h.server.census.byKind())}`, () => h.server.census.countExcept(SERVER_ACTOR_KINDS) === 0, 10_000);
  }, 60_000);
});
