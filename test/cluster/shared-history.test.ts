import { CLUSTER_SYSTEM_ID } from '../../machines/cluster.machine.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tokens, startFakeAiServer, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { redisServerPath, startRedis } from '../helpers/redis-server.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { createClient } from '@redis/client';

/**
 * chat_history/ shared by two instances (one working directory, one Redis): appends from both to one history are all
 * kept (each holds the file's lock in Redis), and what one instance writes reaches the other's long-term memory by
 * the news it publishes, with no page opened there.
 */

type Server = Awaited<ReturnType<typeof startTestServer>>;
const CHARACTER = 'mao_pro_001';

(redisServerPath ? describe : describe.skip)(`chat_history shared by two instances${redisServerPath ? '' : ' [skipped: needs redis-server on PATH (Debian package redis-server)]'}`, () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    fake = await startFakeAiServer();
    redis = await startRedis();
    useFakeEngines(fixture.root, fake.baseUrl, { 'system_config.cluster': { redis_url: redis.url, census_every_seconds: 0.2 }, 'system_config.memory': { enabled: true } });
    a = await startTestServer(fixture.root, { mutate: (app) => (app.system.cluster!.instance_id = 'a') });
    // B keeps no memory of its own: what A's memory knows of B's writes, it heard from B.
    b = await startTestServer(fixture.root, {
      mutate: (app) => {
        app.system.cluster!.instance_id = 'b';
        app.system.memory.enabled = false;
      },
    });
    await until('both linked to Redis', () => [a, b].every((s) => s.actor.system.get(CLUSTER_SYSTEM_ID)?.getSnapshot().matches('up')));
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
    await fake?.close();
    fixture.cleanup();
  });

  test('appends from both instances to one history are all kept, in each instance\'s order', async () => {
    const uid = a.history.newUid(CHARACTER);
    const line = (who: string, n: number) => ({ role: 'human' as const, timestamp: '2026-12-07T10:00:00', content: `${who} ${n}` });
    await Promise.all(
      Array.from({ length: 40 }, (_, n) => [a.history.append(CHARACTER, uid, [line('a', n)]), b.history.append(CHARACTER, uid, [line('b', n)])]).flat(),
    );
    const entries = JSON.parse(readFileSync(path.join(fixture.root, 'chat_history', CHARACTER, `${uid}.json`), 'utf8')) as Array<{ content?: string }>;
    const said = entries.slice(1).map((e) => e.content!);
    expect(said).toHaveLength(80);
    for (const who of ['a', 'b']) expect(said.filter((c) => c.startsWith(who))).toEqual(Array.from({ length: 40 }, (_, n) => `${who} ${n}`));
  });

  test('a turn on one instance reaches the other instance\'s memory by its news, with no page opened there', async () => {
    fake.llm = () => ({ tokens: tokens('Pixel is a great name for a cat.') });
    const client = await TestClient.connect(b.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created');
    await client.completeTurn('My cat is called Pixel.', 1);
    await until('A\'s memory finds what was said on B', async () => {
      const res = await fetch(`${a.url}/memory/search?character=${CHARACTER}&q=cat%20Pixel&k=5`);
      const body = (await res.json()) as { results: Array<{ content: string }> };
      return body.results.some((r) => r.content === 'My cat is called Pixel.');
    });
    await client.close();
  });

  test('Redis away: writes go on, ordered within each instance; Redis back: locks again', async () => {
    const uid = a.history.newUid(CHARACTER);
    await redis.stop();
    await until('A sees Redis gone', () => a.actor.system.get(CLUSTER_SYSTEM_ID)?.getSnapshot().matches('down') === true);
    await a.history.append(CHARACTER, uid, [{ role: 'human', timestamp: '2026-12-07T10:00:00', content: 'said while Redis was away' }]);
    await redis.start();
    await until('both linked again', () => [a, b].every((s) => s.actor.system.get(CLUSTER_SYSTEM_ID)?.getSnapshot().matches('up')));
    await Promise.all([a.history.append(CHARACTER, uid, [{ role: 'ai', timestamp: '2026-12-07T10:00:01', content: 'a' }]), b.history.append(CHARACTER, uid, [{ role: 'ai', timestamp: '2026-12-07T10:00:01', content: 'b' }])]);
    const entries = JSON.parse(readFileSync(path.join(fixture.root, 'chat_history', CHARACTER, `${uid}.json`), 'utf8')) as Array<{ content?: string }>;
    expect(entries.slice(1).map((e) => e.content).sort()).toEqual(['a', 'b', 'said while Redis was away']);
  });

  test('a write waits while another instance holds the file\'s lock, goes on once it is let go, and is not lost when its server stops', async () => {
    const other = createClient({ url: redis.url });
    await other.connect();
    const setCalls = async () => Number((await other.info('commandstats')).match(/cmdstat_set:calls=(\d+)/)?.[1] ?? 0);
    const uid = b.history.newUid(CHARACTER);
    const file = path.join(fixture.root, 'chat_history', CHARACTER, `${uid}.json`);
    const said = () => {
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as Array<{ content?: string }>).slice(1).map((e) => e.content);
      } catch {
        return [];
      }
    };
    const line = (content: string) => [{ role: 'human' as const, timestamp: '2026-12-07T10:00:00', content }];
    const holdLock = () => other.set(`vas:lock:${CHARACTER}/${uid}.json`, 'another-instance', { expiration: { type: 'PX', value: 60_000 } });

    // Held: B tries again and again (each try a SET in Redis's counts) and writes nothing meanwhile.
    await holdLock();
    let before = await setCalls();
    let done = false;
    const first = b.history.append(CHARACTER, uid, line('waited for the lock')).then(() => (done = true));
    await until('three tries', async () => (await setCalls()) >= before + 3);
    expect(done).toBe(false);
    expect(said()).toEqual([]);
    await other.del(`vas:lock:${CHARACTER}/${uid}.json`);
    await first;
    expect(said()).toEqual(['waited for the lock']);

    // Held while B's server stops: its wait ends with the actor that owns the Redis client, and the words are written.
    await holdLock();
    before = await setCalls();
    const second = b.history.append(CHARACTER, uid, line('said as the server stopped'));
    await until('a try', async () => (await setCalls()) > before);
    await b.stop();
    await second;
    expect(said()).toEqual(['waited for the lock', 'said as the server stopped']);
    other.destroy();
  });
});
