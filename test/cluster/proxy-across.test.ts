import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from '@redis/client';
import { tokens, startFakeAiServer, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { editConf, useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { freePort } from '../helpers/free-port.js';
import { haproxyPath, startHaproxy } from '../helpers/haproxy.js';
import { redisServerPath, startRedis } from '../helpers/redis-server.js';
import { runServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { startTcpRelay } from '../helpers/tcp-relay.js';
import { TestClient, until, type Frame } from '../helpers/ws-client.js';

/**
 * `/proxy-ws` across instances (docs/cluster.md): two instances as real processes in one working directory, one
 * Redis, HAProxy in front. Instance A reaches Redis through a relay the test can cut (a network partition of A alone).
 * Viewers on both instances share one session, run by the lease's holder; a partitioned owner steps down before
 * the other takes over, and never two run it; an owner SIGKILLed mid-turn is replaced, and the conversation goes on
 * from its history.
 */

const ready = Boolean(redisServerPath && haproxyPath);
const LEASE_S = 1;
const HOLDS = /^(\S+) info: cluster: this instance holds the proxy lease/m;
const STEPPED_DOWN = /^(\S+) info: cluster: this instance stepped down/m;

/** A viewer that behaves like the web frontend: it reports the end of playback. */
async function viewer(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  client.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.type === 'backend-synth-complete') client.send({ type: 'frontend-playback-complete' });
  });
  await client.waitUntil((fs) => fs.some((f) => f.type === 'control' && f.text === 'start-mic'), 20_000, 'connect frames');
  return client;
}

const chainEnds = (c: TestClient) => c.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
/** The frames of the n-th reply (1-based), from its chain's start to its end. */
function reply(c: TestClient, n: number): Frame[] {
  const starts = c.frames.flatMap((f, i) => (f.type === 'control' && f.text === 'conversation-chain-start' ? [i] : []));
  const from = starts[n - 1]!;
  const to = c.frames.findIndex((f, i) => i > from && f.type === 'control' && f.text === 'conversation-chain-end');
  return c.frames.slice(from, to + 1);
}
const sessions = async (port: number) => ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { sessions: number }).sessions;
const logTimes = (p: ServerProcess, pattern: RegExp) => [...p.output().matchAll(new RegExp(pattern.source, 'gm'))].map((m) => Date.parse(m[1]!));

/** When an instance ran the shared session, by its log: from each "holds" to the next "stepped down" (or now). */
function ownership(p: ServerProcess): Array<[number, number]> {
  const marks = [...logTimes(p, HOLDS).map((t) => [t, 1] as const), ...logTimes(p, STEPPED_DOWN).map((t) => [t, 0] as const)].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Array<[number, number]> = [];
  for (const [t, holds] of marks) {
    if (holds) out.push([t, Infinity]);
    else if (out.length > 0 && out.at(-1)![1] === Infinity) out.at(-1)![1] = t;
  }
  return out;
}
/** The first overlap of two instances' times of ownership, or null. */
const overlap = (x: Array<[number, number]>, y: Array<[number, number]>) => x.flatMap((i) => y.filter((j) => i[0] < j[1] && j[0] < i[1]).map((j) => [i, j])).at(0) ?? null;
/** The instance runs the shared session now (its last log line about it says so). */
const running = (p: ServerProcess) => ownership(p).at(-1)?.[1] === Infinity;

(ready ? describe : describe.skip)(`/proxy-ws across two instances${ready ? '' : ' [skipped: needs redis-server and haproxy on PATH (Debian packages redis-server, haproxy)]'}`, () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let relay: Awaited<ReturnType<typeof startTcpRelay>>;
  let balancer: Awaited<ReturnType<typeof startHaproxy>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let ports: number[];
  let watcher: ReturnType<typeof createClient>;
  const url = (port: number) => `ws://127.0.0.1:${port}/proxy-ws`;
  const holder = async () => watcher.get('vas:proxy:lease');

  beforeAll(async () => {
    fake = await startFakeAiServer();
    redis = await startRedis();
    relay = await startTcpRelay(Number(new URL(redis.url).port));
    useFakeEngines(fixture.root, fake.baseUrl);
    const cluster = { redis_url: redis.url, census_every_seconds: 0.2, census_ttl_seconds: 2, proxy_lease_seconds: LEASE_S };
    editConf(fixture.root, { 'system_config.enable_proxy': true, 'system_config.cluster': cluster });
    copyFileSync(path.join(fixture.root, 'conf.yaml'), path.join(fixture.root, 'conf-a.yaml'));
    editConf(fixture.root, { 'system_config.cluster.redis_url': relay.url }, 'conf-a.yaml');
    ports = [await freePort(), await freePort()];
    watcher = createClient({ url: redis.url });
    // Its link drops when the test restarts Redis; it reconnects by itself.
    watcher.on('error', () => undefined);
    await watcher.connect();
    // A first, so that it holds the lease: it is the instance whose link the test cuts.
    a = runServerProcess(fixture.root, ['--port', String(ports[0]), '--host', '127.0.0.1', '--config', 'conf-a.yaml']);
    await a.waitFor(HOLDS, 60_000);
    b = runServerProcess(fixture.root, ['--port', String(ports[1]), '--host', '127.0.0.1']);
    await b.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    balancer = await startHaproxy(ports);
  }, 120_000);
  afterAll(async () => {
    await balancer?.stop();
    for (const p of [a, b]) {
      p?.child.kill('SIGKILL');
      await p?.exited;
    }
    watcher?.destroy();
    await relay?.close();
    await redis?.stop();
    await fake?.close();
    fixture.cleanup();
  });

  test('viewers on both instances share the one session A runs: the same frames, in the same order', async () => {
    fake.llm = (body: { messages: Array<{ content: string }> }) => ({ tokens: tokens(`Hello ${body.messages.at(-1)!.content}`) });
    const onA = await viewer(url(ports[0]!));
    onA.send({ type: 'create-new-history' });
    await onA.next('new-history-created', 1, 10_000);
    const onB = await viewer(url(ports[1]!));
    onB.send({ type: 'text-input', text: 'My name is Sam.', images: [] });
    await onA.waitUntil(() => chainEnds(onA) === 1, 20_000, 'the reply on A');
    await onB.waitUntil(() => chainEnds(onB) === 1, 20_000, 'the reply on B');
    expect(reply(onB, 1)).toEqual(reply(onA, 1));
    expect(reply(onA, 1).filter((f) => f.type === 'audio').length).toBeGreaterThan(0);
    expect(onA.ofType('user-input-transcription').map((f) => f.text)).toEqual(['My name is Sam.']);
    // One session ran it: one request to the model.
    expect(fake.chatRequests()).toHaveLength(1);
    // A request's answer goes to the viewer who asked, through the owner.
    onB.send({ type: 'fetch-history-list' });
    await onB.next('history-list', 1, 10_000);
    await onA.roundTrip(10_000);
    expect(onA.ofType('history-list')).toHaveLength(0);
    // The session runs on A alone, for viewers on both.
    expect(await sessions(ports[0]!)).toBe(1);
    expect(await sessions(ports[1]!)).toBe(0);
    // A leaves first: B's viewer keeps A's session alive; once B's leaves too, it stops (B told A it left).
    await onA.close();
    await onB.roundTrip(10_000);
    expect(await sessions(ports[0]!)).toBe(1);
    await onB.close();
    await until('the shared session stopped on A', async () => (await sessions(ports[0]!)) === 0, 20_000);
  }, 60_000);

  test('a partition of the owner: it steps down before the other instance takes over, and the conversation goes on there', async () => {
    fake.llm = (body: { messages: Array<{ role: string; content: string }> }) => ({ tokens: tokens(`You said ${body.messages.length} things.`) });
    const onA = await viewer(url(ports[0]!));
    const onB = await viewer(url(ports[1]!));
    expect(await holder()).toMatch(new RegExp(`-${a.child.pid}$`));
    const requestsBefore = fake.chatRequests().length;

    // A's link to Redis is cut, unknown to A: its renewals go unanswered.
    relay.cut();
    await b.waitFor(HOLDS, 20_000);
    const [downAt] = logTimes(a, STEPPED_DOWN);
    const [upAt] = logTimes(b, HOLDS);
    // Never two owners: A had stopped its session when B took the lease.
    expect(downAt).toBeDefined();
    expect(downAt!).toBeLessThanOrEqual(upAt!);
    expect(overlap(ownership(a), ownership(b))).toBeNull();
    await onA.waitUntil((fs) => fs.some((f) => f.type === 'error' && f.code === 'cluster_unavailable'), 10_000, 'the viewer on A told');
    // B's new session continues the conversation from its history.
    await onB.next('set-model-and-conf', 2, 10_000);
    onB.send({ type: 'text-input', text: 'What is my name?', images: [] });
    await onB.waitUntil(() => chainEnds(onB) === 1, 20_000, 'the reply on B');
    const asked = fake.chatRequests().slice(requestsBefore);
    expect(asked).toHaveLength(1);
    const said = (asked[0]!.body as { messages: Array<{ content: string }> }).messages.map((m) => m.content);
    expect(said).toEqual(expect.arrayContaining(['My name is Sam.', 'What is my name?']));

    // Mended: A finds B holding the lease, and links its viewer to B's session; it does not take the lease back.
    relay.mend();
    await onA.next('set-model-and-conf', 2, 20_000);
    onA.send({ type: 'text-input', text: 'Still there?', images: [] });
    await onA.waitUntil(() => chainEnds(onA) === 1, 20_000, 'the reply on A');
    await onB.waitUntil(() => chainEnds(onB) === 2, 20_000, 'the same reply on B');
    expect(reply(onA, 1)).toEqual(reply(onB, 2));
    expect(logTimes(a, HOLDS)).toHaveLength(1);
    expect(await holder()).toMatch(new RegExp(`-${b.child.pid}$`));
    await Promise.all([onA.close(), onB.close()]);
  }, 90_000);

  test('Redis restarted mid-conversation: one owner again (never two at once), and the viewers on both instances carry on with the history', async () => {
    fake.llm = (body: { messages: Array<{ content: string }> }) => ({ tokens: tokens(`Reply to ${body.messages.at(-1)!.content}`) });
    const onA = await viewer(url(ports[0]!));
    const onB = await viewer(url(ports[1]!));
    await redis.stop();
    await redis.start();
    // Whoever holds the lease afterwards runs the session: the owner kept it if its link came back within half a
    // lease, else one instance took it after its link had been up a whole lease.
    let owner = a;
    await until('an owner running the session', async () => {
      const h = await holder().catch(() => null);
      if (!h) return false;
      owner = h.endsWith(`-${a.child.pid}`) ? a : b;
      return running(owner);
    }, 20_000);
    const [onOwner, onOther] = owner === a ? [onA, onB] : [onB, onA];
    // Never two owners at once, by the two instances' own logs.
    expect(overlap(ownership(a), ownership(b))).toBeNull();

    const said = (c: TestClient, text: string) => c.frames.some((f) => f.type === 'audio' && String((f.display_text as { text?: string } | null)?.text).includes(text));
    const before = fake.chatRequests().length;
    onOwner.send({ type: 'text-input', text: 'After the restart.', images: [] });
    await onOwner.waitUntil(() => said(onOwner, 'After the restart'), 20_000, 'the reply on the owner');
    const asked = (fake.chatRequests()[before]!.body as { messages: Array<{ content: string }> }).messages.map((m) => m.content);
    expect(asked).toEqual(expect.arrayContaining(['My name is Sam.', 'After the restart.']));
    onOther.send({ type: 'text-input', text: 'And from the other instance.', images: [] });
    await onOther.waitUntil(() => said(onOther, 'And from the other instance'), 20_000, 'the reply on the other instance');
    await onOwner.waitUntil(() => said(onOwner, 'And from the other instance'), 20_000, 'the same reply on the owner');
    await Promise.all([onA.close(), onB.close()]);
  }, 60_000);

  test('the owner SIGKILLed mid-turn: the other instance takes over once the lease lapses; a viewer through the balancer finds the conversation', async () => {
    fake.llm = () => ({ tokens: tokens('Let me think'), stall: true });
    const owner = (await holder())!.endsWith(`-${a.child.pid}`) ? a : b;
    const survivor = owner === a ? b : a;
    const onSurvivor = await viewer(url(ports[survivor === a ? 0 : 1]!));
    const opened = onSurvivor.ofType('set-model-and-conf').length;
    const holds = logTimes(survivor, HOLDS).length;
    const requestsBefore = fake.chatRequests().length;
    onSurvivor.send({ type: 'text-input', text: 'Tell me a story.', images: [] });
    await onSurvivor.waitUntil(() => fake.chatRequests().length > requestsBefore, 10_000, 'the reply under way');
    owner.child.kill('SIGKILL');
    await owner.exited;
    await until('the survivor holds the lease', () => logTimes(survivor, HOLDS).length > holds, 20_000);
    await onSurvivor.next('set-model-and-conf', opened + 1, 20_000);

    fake.llm = (body: { messages: Array<{ content: string }> }) => ({ tokens: tokens(`There were ${body.messages.length} messages.`) });
    const throughBalancer = await viewer(`${balancer.url.replace('http', 'ws')}/proxy-ws`);
    const before = fake.chatRequests().length;
    throughBalancer.send({ type: 'text-input', text: 'And my name?', images: [] });
    await throughBalancer.waitUntil(() => chainEnds(throughBalancer) === 1, 20_000, 'the reply through the balancer');
    const said = (fake.chatRequests()[before]!.body as { messages: Array<{ content: string }> }).messages.map((m) => m.content);
    expect(said).toEqual(expect.arrayContaining(['My name is Sam.', 'Still there?', 'And my name?']));
    await onSurvivor.waitUntil((fs) => fs.some((f) => f.type === 'user-input-transcription' && f.text === 'And my name?'), 10_000, 'the question seen by the other viewer');
    await Promise.all([onSurvivor.close(), throughBalancer.close()]);
  }, 90_000);
});
