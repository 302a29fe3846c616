import type { AnyActorRef } from 'xstate';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { rawGet } from '../helpers/raw-http.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

type F = Record<string, any>;

/** A /proxy-ws viewer that behaves like the web frontend: it reports the end of playback. */
async function viewer(url: string, history = false): Promise<TestClient> {
  const client = await TestClient.connect(url);
  client.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as F;
    if (frame.type === 'backend-synth-complete') setTimeout(() => client.send({ type: 'frontend-playback-complete' }), 10);
  });
  await client.ready();
  if (history) {
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created');
  }
  return client;
}


const chainEnds = (c: TestClient) => c.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
const controls = (c: TestClient) => c.frames.filter((f) => f.type === 'control' && String(f.text).startsWith('conversation')).map((f) => f.text);

describe('/proxy-ws: many viewers, one session (docs/protocol.md: Proxy)', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.enable_proxy': true, 'system_config.playback_slack_seconds': 1 } });
  const proxyUrl = () => harness.server.wsUrl.replace(/client-ws$/, 'proxy-ws');
  const liveActors = () => harness.server.census.countExcept(SERVER_ACTOR_KINDS);
  beforeEach(() => {
    harness.fake.llm = (body: any) => ({ tokens: tokens(`Answer to ${body.messages.at(-1).content}.`), delayMs: 15 });
  });

  test('five viewers: interleaved text-inputs are answered one at a time, in order; joining and leaving disturbs nobody', async () => {
    const viewers = [await viewer(proxyUrl(), true)];
    for (let i = 1; i < 5; i++) viewers.push(await viewer(proxyUrl(), true));
    // Every viewer got the connect sequence once, and nobody was reset by the others joining (U42).
    for (const v of viewers) expect(v.ofType('set-model-and-conf')).toHaveLength(1);
    const historyUids = viewers.map((v) => (v.ofType('new-history-created')[0] as F).history_uid);
    expect(new Set(historyUids).size).toBe(1);
    const uid = (viewers[0]!.ofType('set-model-and-conf')[0] as F).client_uid as string;
    expect(viewers.every((v) => (v.ofType('set-model-and-conf')[0] as F).client_uid === uid)).toBe(true);
    for (const v of viewers) v.frames.length = 0;

    const order = [2, 0, 4, 1, 3];
    for (const i of order) {
      viewers[i]!.send({ type: 'text-input', text: `message from viewer ${i}`, images: [] });
      // Its heartbeat is answered after the hub took the message: the next viewer's message is queued after it.
      await viewers[i]!.roundTrip();
    }
    // While the third reply runs, a sixth viewer joins and viewer 1 (whose message is still queued) leaves.
    await until('third reply', () => chainEnds(viewers[0]!) >= 2 && viewers[0]!.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-start').length === 3);
    const late = await viewer(proxyUrl());
    await viewers[1]!.close();
    const stay = viewers.filter((_, i) => i !== 1);
    await until('five replies', () => stay.every((v) => chainEnds(v) === 5), 20000);

    const asked = harness.fake.chatRequests().slice(-5).map((r) => r.body.messages.at(-1).content);
    expect(asked).toEqual(order.map((i) => `message from viewer ${i}`));
    for (const v of stay) {
      // One reply at a time: starts and ends strictly alternate.
      expect(controls(v)).toEqual(Array(5).fill(['conversation-chain-start', 'conversation-chain-end']).flat());
      expect(v.ofType('set-model-and-conf')).toHaveLength(0);
      expect(v.ofType('error')).toEqual([]);
      const texts = v.ofType('audio').map((f) => (f as F).display_text.text);
      expect(texts).toEqual(order.map((i) => `Answer to message from viewer ${i}.`));
    }
    // Each viewer sees the others' messages, not its own (it shows that one itself).
    expect(viewers[0]!.ofType('user-input-transcription').map((f) => (f as F).text)).toEqual(order.filter((i) => i !== 0).map((i) => `message from viewer ${i}`));
    // The late viewer got the connect frames alone, then the rest of the conversation.
    expect(late.frames.slice(0, 5).map((f) => f.type)).toEqual(['group-update', 'full-text', 'set-model-and-conf', 'group-update', 'control']);
    expect(chainEnds(late)).toBeGreaterThanOrEqual(2);

    await Promise.all([...stay, late].map((v) => v.close()));
    await until(`no actors but the hub, still ${JSON.stringify(harness.server.census.byKind())}`, () => liveActors() === 0);
    expect(harness.server.census.byKind().proxyHub).toBe(1);

    // Everybody left; a viewer comes back (U39): a new session that continues the conversation from its history.
    const back = await viewer(proxyUrl(), true);
    expect((back.ofType('new-history-created')[0] as F).history_uid).toBe(historyUids[0]);
    back.frames.length = 0;
    back.send({ type: 'text-input', text: 'Do you remember me?', images: [] });
    await until('answer', () => chainEnds(back) === 1);
    const messages = harness.fake.chatRequests().at(-1)!.body.messages.map((m: F) => m.content);
    expect(messages).toContain('message from viewer 2');
    expect(messages.at(-1)).toBe('Do you remember me?');
    await back.close();
    await until('no actors', () => liveActors() === 0);
  }, 60_000);

  test('a viewer\'s requests are answered to that viewer only; groups are refused; an interrupt releases the queue', async () => {
    const a = await viewer(proxyUrl(), true);
    const b = await viewer(proxyUrl());
    a.frames.length = 0;
    b.frames.length = 0;
    b.send({ type: 'fetch-configs' });
    await b.next('config-files');
    b.send({ type: 'add-client-to-group', invitee_uid: 'x' });
    await b.next('group-operation-result');
    expect(b.ofType('group-operation-result')[0]).toEqual({ type: 'group-operation-result', success: false, message: 'Groups are not available through /proxy-ws' });
    harness.fake.llm = (body: any) => ({ tokens: tokens(`Slow answer to ${body.messages.at(-1).content}, word by word, taking its time.`), delayMs: 80 });
    a.send({ type: 'text-input', text: 'first', images: [] });
    b.send({ type: 'text-input', text: 'second', images: [] });
    await until('first reply started', () => a.ofType('audio').length >= 1);
    b.send({ type: 'interrupt-signal', text: '' });
    await until('second asked', () => harness.fake.chatRequests().at(-1)!.body.messages.at(-1).content === 'second');
    expect(a.ofType('config-files')).toEqual([]);
    const session = Object.entries(harness.server.actor.system.getAll()).find(([id]) => id.startsWith('session:proxy-'))![1] as AnyActorRef;
    expect(session.getSnapshot().value).toEqual({ active: 'responding' });
    await Promise.all([a.close(), b.close()]);
    await until('no actors', () => liveActors() === 0);
  }, 30_000);
});

describe('/proxy-ws is off by default', () => {
  const harness = useFakeEngineServer();

  test('an upgrade to /proxy-ws gets 404 with the setting to turn it on', async () => {
    const res = await rawGet(harness.server.url, '/proxy-ws', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    expect(res.status).toBe(404);
    expect(res.body).toContain('system_config.enable_proxy: true');
  });
});
