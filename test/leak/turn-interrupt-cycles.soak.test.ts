import type { AnyActorRef } from 'xstate';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { activeResources, childPids, settleTo } from '../helpers/process-probes.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient, sleep } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

const TURNS = 1000;
const SOCKETS = 1000;
const PARALLEL = 10;
const REPLY = tokens('One two three four five. Six seven eight nine ten. Eleven twelve thirteen. Fourteen fifteen sixteen seventeen. The end.');

/** Deterministic "random" points, so a failure can be replayed. */
function* lcg(seed: number) {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield x / 2 ** 31;
  }
}

describe('leaks: 1,000 interrupted turns and 1,000 sockets closed mid-reply', () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    fake = await startFakeAiServer();
    fake.llm = () => ({ tokens: REPLY, delayMs: 2 });
    fake.tts.delayMs = 5;
    useFakeEngines(fixture.root, fake.baseUrl);
    server = await startTestServer(fixture.root);
  });
  afterAll(async () => {
    await server.stop();
    await fake.close();
    fixture.cleanup();
  });

  test('leave zero live actors, no open request at the fake services, baseline handles, no child processes', async () => {
    const warm = await TestClient.connect(server.wsUrl);
    await warm.ready();
    warm.send({ type: 'text-input', text: 'warm up', images: [] });
    await warm.next('backend-synth-complete');
    await warm.close();
    // Idle keep-alive connections to the fake services close after a few seconds (undici): the baseline is the quiet
    // state, and so is the state compared with it at the end.
    const quietSockets = () => settleTo(() => activeResources().TCPSocketWrap ?? 0, 0, 8000);
    await quietSockets();
    const baseline = activeResources();
    const childrenBefore = childPids();
    const random = lcg(42);
    // Every actor id used during the run, by kind: ids come from pools (machines/id-pool.ts) and must be reused.
    const idsByKind = new Map<string, Set<string>>();
    const unsubscribe = server.census.subscribe((ev) => {
      if (ev.type !== '@xstate.actor') return;
      const ref = ev.actorRef as AnyActorRef & { src?: unknown };
      const kind = String(ref.src);
      idsByKind.set(kind, (idsByKind.get(kind) ?? new Set()).add(ref.id));
    });

    // Interrupts at random points of a turn: while streaming, while synthesising, while waiting for playback.
    let interruptedTurns = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        const client = await TestClient.connect(server.wsUrl);
        await client.ready();
        for (let i = 0; i < TURNS / PARALLEL; i++) {
          client.send({ type: 'text-input', text: `turn ${i}`, images: [] });
          await sleep(Math.floor(random.next().value! * 40));
          client.send({ type: 'interrupt-signal', text: '' });
          interruptedTurns++;
        }
        await client.close();
      }),
    );

    // Sockets that go away in the middle of a reply.
    for (let i = 0; i < SOCKETS; i += PARALLEL) {
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          const client = await TestClient.connect(server.wsUrl);
          await client.ready();
          client.send({ type: 'text-input', text: 'talk to me', images: [] });
          await sleep(Math.floor(random.next().value! * 40));
          if (random.next().value! < 0.5) await client.close();
          else client.ws.terminate();
        }),
      );
    }

    unsubscribe();
    expect(interruptedTurns).toBe(TURNS);
    expect(await settleTo(() => server.census.countExcept(SERVER_ACTOR_KINDS), 0)).toBe(0);
    expect(server.sessionCount()).toBe(0);
    expect(Object.keys(server.actor.getSnapshot().children)).toEqual(['http', 'toolServers', 'localModels', 'webTool']);
    expect(await settleTo(() => fake.openResponses(), 0)).toBe(0);
    // Some requests really were cut off by the stops (the test exercised aborts, not only finished turns).
    expect(fake.chatRequests().filter((r) => r.abortedAt !== undefined).length).toBeGreaterThan(100);
    await quietSockets();
    expect(await settleTo(activeResources, baseline)).toEqual(baseline);
    expect(childPids()).toEqual(childrenBefore);
    // Child ids stay bounded (machines/id-pool.ts): thousands of syntheses and sessions reused a handful of ids. An id
    // that is not released (or a fresh id per child) makes these sets grow with the number of turns.
    const synths = idsByKind.get('synthesize') ?? new Set();
    const sessions = idsByKind.get('session') ?? new Set();
    expect(synths.size).toBeGreaterThan(0);
    expect([...synths].every((id) => /^synth\.\d+$/.test(id))).toBe(true);
    expect(synths.size).toBeLessThanOrEqual(server.app.system.tts_concurrency);
    expect(sessions.size).toBeGreaterThan(0);
    expect(sessions.size).toBeLessThanOrEqual(2 * PARALLEL);
  }, 180_000);
});
