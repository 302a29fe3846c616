import { tokens, startFakeAiServer, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { haproxyPath, startHaproxy } from '../helpers/haproxy.js';
import { freePort } from '../helpers/free-port.js';
import { redisServerPath, startRedis } from '../helpers/redis-server.js';
import { runServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { isChainEnd } from '../helpers/frames.js';
import { editConf } from '../helpers/engine-config.js';

/**
 * docs/cluster.md followed as written: two instances (real processes, `npm start`'s entry point) in one working
 * directory (the shared chat_history/), one Redis, HAProxy in front. Requests are spread over both; a client whose
 * instance is SIGKILLed mid-turn reconnects through the balancer to the other and finds its history there.
 */

const ready = Boolean(redisServerPath && haproxyPath);

(ready ? describe : describe.skip)(`two instances behind HAProxy${ready ? '' : ' [skipped: needs redis-server and haproxy on PATH (Debian packages redis-server, haproxy)]'}`, () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let balancer: Awaited<ReturnType<typeof startHaproxy>>;
  const instances: ServerProcess[] = [];

  beforeAll(async () => {
    fake = await startFakeAiServer();
    redis = await startRedis();
    useFakeEngines(fixture.root, fake.baseUrl);
    editConf(fixture.root, { 'system_config.cluster': { redis_url: redis.url, census_every_seconds: 0.2, census_ttl_seconds: 2 } });
    const ports = [await freePort(), await freePort()];
    for (const port of ports) instances.push(runServerProcess(fixture.root, ['--port', String(port), '--host', '127.0.0.1']));
    await Promise.all(instances.map((i) => i.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 60_000)));
    balancer = await startHaproxy(ports);
  }, 90_000);
  afterAll(async () => {
    await balancer?.stop();
    for (const i of instances) {
      i.child.kill('SIGKILL');
      await i.exited;
    }
    await redis?.stop();
    await fake?.close();
    fixture.cleanup();
  });

  const answeredBy = async () => (await fetch(`${balancer.url}/healthz`)).headers.get('x-vas-instance');

  test('requests are spread over both instances, each saying which it is', async () => {
    await until('both instances healthy behind the balancer', async () => new Set([await answeredBy(), await answeredBy(), await answeredBy()]).size === 2, 20_000);
  });

  test('an instance SIGKILLed mid-turn: the client reconnects through the balancer to the other, and its history is there', async () => {
    fake.llm = () => ({ tokens: tokens('I will remember that. Nice to meet you, Sam.') });
    const wsUrl = `${balancer.url.replace('http', 'ws')}/client-ws`;
    const client = await TestClient.connect(wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    const uid = (await client.next('new-history-created')).history_uid as string;
    client.send({ type: 'text-input', text: 'My name is Sam.', images: [] });
    await client.next('backend-synth-complete');
    client.send({ type: 'frontend-playback-complete' });
    // The chain's end comes once the turn is on disk.
    await client.waitUntil((frames) => frames.some(isChainEnd), 10_000, 'the chain\'s end');

    // Which instance holds this client: the one whose census lists it.
    const clientUid = (await client.next('set-model-and-conf')).client_uid as string;
    let holder = -1;
    await until('the client in a census', async () => {
      const body = (await (await fetch(`${balancer.url}/sessions/instances`)).json()) as { instances: Array<{ instance_id: string; sessions: Array<{ clientUid: string }> }> };
      const entry = body.instances.find((i) => i.sessions.some((s) => s.clientUid === clientUid));
      holder = entry ? instances.findIndex((i) => entry.instance_id.endsWith(`-${i.child.pid}`)) : -1;
      return holder >= 0;
    });

    // Mid-turn: the model is streaming a reply that never ends when the instance is killed.
    fake.llm = () => ({ tokens: tokens('Let me think'), stall: true });
    client.send({ type: 'text-input', text: 'What is my name?', images: [] });
    await until('the reply under way', () => fake.chatRequests().length >= 2);
    instances[holder]!.child.kill('SIGKILL');
    await client.closed;

    fake.llm = () => ({ tokens: tokens('Your name is Sam.') });
    const again = await TestClient.connect(wsUrl);
    await again.ready();
    again.send({ type: 'fetch-and-set-history', history_uid: uid });
    const history = (await again.next('history-data')).messages as Array<{ role: string; content: string }>;
    expect(history.slice(0, 2).map((m) => [m.role, m.content])).toEqual([
      ['human', 'My name is Sam.'],
      ['ai', 'I will remember that. Nice to meet you, Sam.'],
    ]);
    const survivor = instances[1 - holder]!;
    expect(await answeredBy()).toMatch(new RegExp(`-${survivor.child.pid}$`));
    await again.close();
  }, 60_000);
});
