import { CLUSTER_SYSTEM_ID } from '../../machines/cluster.machine.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { redisServerPath, startRedis } from '../helpers/redis-server.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { recordingLogger } from '../helpers/recording-logger.js';

/**
 * Two instances on one Redis (system_config.cluster), each a real server: every instance lists every instance's
 * sessions; Redis going away leaves the sessions talking and the list answering 503 cluster_unavailable, and both
 * come back by themselves when Redis does; an instance that stops leaves the list when its census expires.
 */

type Instances = { instance_id: string; instances?: Array<{ instance_id: string; sessions: Array<{ clientUid: string }> }>; code?: string };

(redisServerPath ? describe : describe.skip)(`two instances on one Redis${redisServerPath ? '' : ' [skipped: needs redis-server on PATH (Debian package redis-server)]'}`, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  const clusterOf = (id: string) => ({ redis_url: '', instance_id: id, census_every_seconds: 0.1, census_ttl_seconds: 1 });
  const clusterA = clusterOf('instance-a');
  const clusterB = clusterOf('instance-b');
  // Redis first: its port goes into both conf.yaml files before the servers start.
  beforeAll(async () => {
    redis = await startRedis();
    clusterA.redis_url = clusterB.redis_url = redis.url;
  });
  afterAll(() => redis?.stop());
  const a = useFakeEngineServer({ conf: { 'system_config.cluster': clusterA } });
  const b = useFakeEngineServer({ conf: { 'system_config.cluster': clusterB } });

  async function instances(from: typeof a): Promise<{ status: number; body: Instances }> {
    const res = await fetch(`${from.server.url}/sessions/instances`);
    return { status: res.status, body: (await res.json()) as Instances };
  }
  const sessionsBy = (body: Instances) => Object.fromEntries((body.instances ?? []).map((i) => [i.instance_id, i.sessions.map((s) => s.clientUid)]));

  test('each instance lists every instance\'s sessions and says which instance it is', async () => {
    const onA = await TestClient.connect(a.server.wsUrl);
    const onB = await TestClient.connect(b.server.wsUrl);
    await Promise.all([onA.ready(), onB.ready()]);
    const [uidA, uidB] = [(await onA.next('set-model-and-conf')).client_uid as string, (await onB.next('set-model-and-conf')).client_uid as string];
    let seen: Instances = { instance_id: '' };
    await until('both instances, each with its session, in the list', async () => {
      seen = (await instances(a)).body;
      const by = sessionsBy(seen);
      return by['instance-a']?.includes(uidA!) === true && by['instance-b']?.includes(uidB!) === true;
    });
    expect(seen.instance_id).toBe('instance-a');
    const res = await fetch(`${b.server.url}/healthz`);
    expect(res.headers.get('x-vas-instance')).toBe('instance-b');
    expect(await res.json()).toMatchObject({ instance_id: 'instance-b' });
    expect(await (await fetch(`${a.server.url}/metrics`)).text()).toMatch(/^vas_instance_info\{instance_id="instance-a"\} 1$/m);
    await onA.close();
    await onB.close();
  });

  test('Redis away: sessions keep talking, the list answers 503 cluster_unavailable; Redis back: all of it recovers by itself', async () => {
    b.fake.llm = () => ({ tokens: tokens('Still here.') });
    const client = await TestClient.connect(b.server.wsUrl);
    await client.ready();
    await redis.stop();
    await until('the list refused while Redis is away', async () => (await instances(a)).status === 503);
    expect((await instances(a)).body.code).toBe('cluster_unavailable');
    client.send({ type: 'text-input', text: 'Are you there?', images: [] });
    await client.next('backend-synth-complete');
    await redis.start();
    let last: unknown;
    await until('the list again, with the session on instance-b', async () => {
      const { status, body } = await instances(a);
      last = { status, body, a: a.server.actor.system.get(CLUSTER_SYSTEM_ID)?.getSnapshot().value, b: b.server.actor.system.get(CLUSTER_SYSTEM_ID)?.getSnapshot().value };
      return status === 200 && sessionsBy(body)['instance-b']?.length === 1;
    }, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
    await client.close();
  });

  test('an instance that stops leaves the list when its census expires', async () => {
    await until('instance-b listed', async () => Object.keys(sessionsBy((await instances(a)).body)).includes('instance-b'));
    await b.server.stop();
    await until('instance-b gone from the list', async () => !Object.keys(sessionsBy((await instances(a)).body)).includes('instance-b'));
    expect(Object.keys(sessionsBy((await instances(a)).body))).toEqual(['instance-a']);
  });

  describe('a Redis that cannot be reached from the start', () => {
    const log = recordingLogger();
    const lost = useFakeEngineServer({ conf: { 'system_config.cluster': { redis_url: 'redis://127.0.0.1:1', instance_id: 'alone' } }, start: { logger: log.logger } });

    test('is said once, and the instance serves its own sessions meanwhile', async () => {
      await log.line(/warn: cluster: Redis at redis:\/\/127\.0\.0\.1:1 is not answering .*retrying/);
      const client = await TestClient.connect(lost.server.wsUrl);
      await client.ready();
      const res = await fetch(`${lost.server.url}/sessions/instances`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { code: string }).code).toBe('cluster_unavailable');
      expect(log.lines.filter((l) => l.includes('is not answering'))).toHaveLength(1);
      await client.close();
    });
  });
});
