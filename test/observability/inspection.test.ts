import type { AnyActorRef, InspectionEvent } from 'xstate';
import WebSocket from 'ws';
import net from 'node:net';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { runServerProcess } from '../helpers/server-process.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient, until } from '../helpers/ws-client.js';

type Ref = AnyActorRef & { _parent?: Ref };

describe('inspection events', () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const events: InspectionEvent[] = [];

  beforeAll(async () => {
    fake = await startFakeAiServer();
    fake.llm = () => ({ tokens: tokens('One. Two. Three.') });
    useFakeEngines(fixture.root, fake.baseUrl);
    server = await startTestServer(fixture.root, { inspect: (ev) => events.push(ev) });
  });
  afterAll(async () => {
    await server.stop();
    await fake.close();
    fixture.cleanup();
  });

  test('are emitted for a session actor and every one of its children, and none after the session is gone', async () => {
    events.length = 0;
    const client = await TestClient.connect(server.wsUrl);
    await client.ready();
    client.send({ type: 'fetch-configs' });
    client.send({ type: 'text-input', text: 'hi', images: [] });
    await client.next('backend-synth-complete');
    client.send({ type: 'frontend-playback-complete' });
    await client.next('force-new-message');

    const created = events.filter((e) => e.type === '@xstate.actor').map((e) => e.actorRef as Ref);
    const session = created.find((r) => (r as { src?: unknown }).src === 'session')!;
    const belongs = (r: Ref | undefined): boolean => !!r && (r.sessionId === session.sessionId || belongs(r._parent));
    const family = created.filter((r) => belongs(r));
    const kinds = new Set(family.map((r) => String((r as { src?: unknown }).src)));
    for (const kind of ['session', 'socketBridge', 'historyWriter', 'initSession', 'requestQueue', 'answerRequest', 'turn', 'ttsPipeline', 'llmStream', 'synthesize']) {
      expect(kinds).toContain(kind);
    }

    await client.close();
    const ids = new Set(family.map((r) => r.sessionId));
    const stopped = () =>
      new Set(events.filter((e) => e.type === '@xstate.snapshot' && (e.snapshot as { status?: string }).status !== 'active').map((e) => e.actorRef.sessionId));
    await until('every actor of the session reported stopped', () => [...ids].every((id) => stopped().has(id)));
    const afterGone = events.length;
    // The server goes on with another client's whole turn; meanwhile the stopped actors report nothing more.
    const next = await TestClient.connect(server.wsUrl);
    await next.ready();
    next.send({ type: 'text-input', text: 'hi again', images: [] });
    await next.next('backend-synth-complete');
    await next.close();
    expect(events.slice(afterGone).filter((e) => ids.has(e.actorRef.sessionId))).toEqual([]);
  });
});

describe('INSPECT=1: the Stately inspector relay', () => {
  test('a browser-side receiver gets the server\'s inspection events; shutdown closes everything', async () => {
    const fixture = makeFixtureRoot();
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1'], { INSPECT: '1', INSPECT_PORT: String(port) });
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect(server.output()).toContain(`open http://localhost:${port}`);
      const receiver = new WebSocket(`ws://localhost:${port}`);
      const messages: string[] = [];
      receiver.on('message', (d) => messages.push(String(d)));
      await new Promise((resolve) => receiver.once('open', resolve));
      const client = await TestClient.connect(`${url!.replace('http', 'ws')}/client-ws`);
      await client.ready();
      await until('the session\'s inspection events', () => messages.some((m) => m.includes('"@xstate.actor"') && m.includes('session')), 3000);
      await client.close();
      receiver.close();
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(server.output()).not.toMatch(/did not close in time/);
      const relayGone = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('error', () => resolve(true));
        s.once('connect', () => (s.destroy(), resolve(false)));
      });
      expect(relayGone).toBe(true);
    } finally {
      server.child.kill('SIGKILL');
      fixture.cleanup();
    }
  }, 30_000);
});
