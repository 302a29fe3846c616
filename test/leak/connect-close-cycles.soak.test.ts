import type { AnyActorRef } from 'xstate';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { activeResources, childPids, settleTo } from '../helpers/process-probes.js';
import { newSwitchLog, slowLoadCharacter, type SwitchLog } from '../helpers/slow-switch.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

const CYCLES = 1000;
const PARALLEL = 10;

/** One client lifetime. Every third closes in the middle of a slow `switchingConfig`, once its load has started. */
async function cycle(wsUrl: string, i: number, log: SwitchLog): Promise<void> {
  const client = await TestClient.connect(wsUrl);
  await client.ready();
  if (i % 3 === 0) {
    const uid = String(client.ofType('set-model-and-conf')[0]!.client_uid);
    client.send({ type: 'switch-config', file: i % 2 ? 'en_unhelpful_ai.yaml' : 'en_storyteller.yaml' });
    await until('the switch started', () => log.clients!.includes(uid));
  } else {
    client.send({ type: 'fetch-configs' });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    if (i % 3 === 1) {
      client.send({ type: 'switch-config', file: 'en_storyteller.yaml' });
      await client.next('config-switched', 1, 5000);
    }
  }
  await client.close();
}

describe('leaks: 1,000 connect/close cycles', () => {
  const fixture = makeFixtureRoot();
  const log = newSwitchLog();
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    server = await startTestServer(fixture.root, { actorsFor: (app) => ({ loadCharacter: slowLoadCharacter(app, 40, log) }) });
  });
  afterAll(async () => {
    await server.stop();
    fixture.cleanup();
  });

  test('leave zero live actors, the same active resources as before, and no child processes', async () => {
    await cycle(server.wsUrl, 1, log); // warm-up: lazy modules and keep-alive agents settle first
    const baseline = await settleTo(activeResources, activeResources(), 200);
    const childrenBefore = childPids();
    const seenActors = new Set<string>();
    const childIds = new Set<string>();
    const unsubscribe = server.census.subscribe((ev) => {
      if (ev.type === '@xstate.actor') {
        seenActors.add(ev.actorRef.sessionId);
        childIds.add((ev.actorRef as AnyActorRef).id);
      }
    });

    for (let i = 0; i < CYCLES; i += PARALLEL) {
      await Promise.all(Array.from({ length: PARALLEL }, (_, k) => cycle(server.wsUrl, i + k, log)));
    }
    unsubscribe();

    // Every session, socket bridge, query and switch loader that was created is gone again…
    expect(await settleTo(() => server.census.countExcept(SERVER_ACTOR_KINDS), 0)).toBe(0);
    expect(server.sessionCount()).toBe(0);
    // …including finished children the server would otherwise keep referencing in its snapshot.
    expect(Object.keys(server.actor.getSnapshot().children)).toEqual(['http', 'toolServers', 'localModels', 'webTool']);
    expect(seenActors.size).toBeGreaterThan(CYCLES * 3);
    // Child ids are reused, so the event types XState memoises per state node stay bounded (machines/id-pool.ts).
    const sessionIds = [...childIds].filter((id) => id.startsWith('session.'));
    const otherIds = [...childIds].filter((id) => !id.startsWith('session.'));
    expect(sessionIds.length).toBeLessThanOrEqual(2 * PARALLEL);
    // Requests are answered by invoked workers with the same id each time, not by children with ever-new ids.
    expect(otherIds.length).toBeLessThanOrEqual(16);
    // A third of the cycles really closed mid-switch, and XState aborted those loads.
    expect(log.aborted.length).toBeGreaterThanOrEqual(Math.floor(CYCLES / 3) - PARALLEL);
    expect(await settleTo(activeResources, baseline)).toEqual(baseline);
    expect(childPids()).toEqual(childrenBefore);
  }, 120_000);
});
