import type { AnyActorRef } from 'xstate';
import { LIVE_CHAT_SYSTEM_ID } from '../../machines/live-chat-contract.js';
import type { LiveChatContext } from '../../machines/live-chat.machine.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';
import { startFakeDanmakuServer, type FakeDanmakuServer } from '../fakes/bilibili-danmaku-server.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { editConf } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { useFakeEngineServer, useTestServer } from '../helpers/server-harness.js';
import { TestClient, settleOrStall, until } from '../helpers/ws-client.js';

/**
 * Live-stream chat over real sockets: the server reads a room of the fake danmaku server (the real wire format) and
 * the `/proxy-ws` viewers see the character answer each chat message, as upstream's live script made it do; the
 * queue's bound, a reconnect after the chat server drops the connection, and when nothing connects at all.
 */

type F = Record<string, any>;

/** A /proxy-ws viewer that behaves like the web frontend: it reports the end of playback. */
async function viewer(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  client.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as F;
    if (frame.type === 'backend-synth-complete') setTimeout(() => client.send({ type: 'frontend-playback-complete' }), 10);
  });
  await client.ready();
  client.send({ type: 'create-new-history' });
  await client.next('new-history-created');
  client.frames.length = 0;
  return client;
}

const chainEnds = (c: TestClient) => c.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
const heard = (c: TestClient) => c.ofType('user-input-transcription').map((f) => (f as F).text);
const spoken = (c: TestClient) => c.ofType('audio').map((f) => (f as F).display_text.text);

describe('live-stream chat: danmaku become the /proxy-ws session\'s input', () => {
  let danmaku: FakeDanmakuServer;
  beforeAll(async () => {
    danmaku = await startFakeDanmakuServer();
  });
  afterAll(() => danmaku.close());
  const harness = useFakeEngineServer({
    conf: {
      'system_config.enable_proxy': true,
      'system_config.playback_slack_seconds': 1,
      'system_config.live_chat_queue_max': 2,
      'system_config.live_chat_min_interval_seconds': 0.05,
      'live_config.bilibili_live': { room_ids: [5050], sessdata: '' },
    },
    start: {
      get liveChat() {
        return { endpoints: danmaku.endpoints, reconnectBaseMs: 50 };
      },
    },
  });
  const proxyUrl = () => harness.server.wsUrl.replace(/client-ws$/, 'proxy-ws');
  const chat = () => (harness.server.actor.system.get(LIVE_CHAT_SYSTEM_ID) as AnyActorRef).getSnapshot().context as LiveChatContext;
  beforeEach(() => {
    harness.fake.llm = (body: any) => ({ tokens: tokens(`Answer to ${body.messages.at(-1).content}.`), delayMs: 15 });
  });

  test('a chat message is answered to every viewer: they see it said, then the reply\'s chain', async () => {
    await settleOrStall(danmaku.authenticated(1), 10_000, 'the server joined the room');
    expect(danmaku.auths[0]).toMatchObject({ roomid: 5050, protover: 3 });
    const [a, b] = [await viewer(proxyUrl()), await viewer(proxyUrl())];
    danmaku.say(['hello from the chat'], 'zlib');
    await until('both heard the reply', () => chainEnds(a) === 1 && chainEnds(b) === 1);
    for (const v of [a, b]) {
      expect(heard(v)).toEqual(['hello from the chat']);
      expect(spoken(v)).toEqual(['Answer to hello from the chat.']);
      expect(v.ofType('error')).toEqual([]);
    }
    expect(harness.fake.chatRequests().at(-1)!.body.messages.at(-1).content).toBe('hello from the chat');
    await Promise.all([a.close(), b.close()]);
  });

  test('a burst beyond the queue\'s bound: the first goes at once, of the rest only the newest two wait and are answered', async () => {
    const v = await viewer(proxyUrl());
    const before = chat().counts;
    danmaku.say(['m1', 'm2', 'm3', 'm4', 'm5'], 'brotli');
    await until('three replies', () => chainEnds(v) === 3, 20_000);
    expect(heard(v)).toEqual(['m1', 'm4', 'm5']);
    expect(spoken(v)).toEqual(['Answer to m1.', 'Answer to m4.', 'Answer to m5.']);
    expect(chat().counts).toEqual({ ...before, received: before.received + 5, released: before.released + 3, dropped: before.dropped + 2 });
    await v.close();
  });

  test('the chat server drops the connection: the server joins the room again and the chat goes on', async () => {
    const v = await viewer(proxyUrl());
    const joined = danmaku.auths.length;
    danmaku.dropAll();
    await settleOrStall(danmaku.authenticated(joined + 1), 10_000, 'the server joined the room again');
    danmaku.say(['after the drop']);
    await until('the reply', () => chainEnds(v) === 1);
    expect(heard(v)).toEqual(['after the drop']);
    await v.close();
  });

  test('nobody watching /proxy-ws: the chat is not answered, and nothing is left running for it', async () => {
    await until('no viewer session', () => harness.server.census.countExcept(SERVER_ACTOR_KINDS) === 0);
    const asked = harness.fake.chatRequests().length;
    const unheard = chat().counts.unheard;
    danmaku.say(['anyone there?']);
    await until('the message went unheard', () => chat().counts.unheard === unheard + 1);
    expect(harness.fake.chatRequests()).toHaveLength(asked);
    expect(harness.server.census.countExcept(SERVER_ACTOR_KINDS)).toBe(0);
    expect(harness.server.census.byKind()).toMatchObject({ liveChat: 1, liveRoom: 1, roomSocket: 1 });
  });
});

describe('live-stream chat: when the server reads no room', () => {
  let danmaku: FakeDanmakuServer;
  const log = recordingLogger();
  beforeAll(async () => {
    danmaku = await startFakeDanmakuServer();
  });
  afterAll(() => danmaku.close());

  describe('room_ids empty', () => {
    const fixture = makeFixtureRoot();
    editConf(fixture.root, { 'system_config.enable_proxy': true, 'live_config.bilibili_live': { room_ids: [], sessdata: '' } });
    const harness = useTestServer(fixture, { get liveChat() { return { endpoints: danmaku.endpoints }; } });

    test('no live chat runs and nothing connects; /proxy-ws serves as before', async () => {
      expect(harness.server.actor.system.get(LIVE_CHAT_SYSTEM_ID)).toBeUndefined();
      const v = await TestClient.connect(harness.server.wsUrl.replace(/client-ws$/, 'proxy-ws'));
      await v.ready();
      await v.roundTrip();
      expect(danmaku.connections()).toBe(0);
      await v.close();
    });
  });

  describe('room_ids set but /proxy-ws off', () => {
    const fixture = makeFixtureRoot();
    editConf(fixture.root, { 'live_config.bilibili_live': { room_ids: [5050], sessdata: '' } });
    const harness = useTestServer(fixture, { logger: log.logger, get liveChat() { return { endpoints: danmaku.endpoints }; } });

    test('the rooms are not read, and the log says why and what to set', async () => {
      expect(harness.server.actor.system.get(LIVE_CHAT_SYSTEM_ID)).toBeUndefined();
      expect(log.lines.filter((l) => l.includes('room_ids'))).toEqual([
        expect.stringMatching(/^warn: .*room_ids is set but system_config\.enable_proxy is false.*Set enable_proxy: true/),
      ]);
      const c = await TestClient.connect(harness.server.wsUrl);
      await c.ready();
      await c.roundTrip();
      expect(danmaku.connections()).toBe(0);
      await c.close();
    });
  });
});

describe('live-stream chat: stopping the server', () => {
  let danmaku: FakeDanmakuServer;
  beforeAll(async () => {
    danmaku = await startFakeDanmakuServer();
  });
  afterAll(() => danmaku.close());
  const fixture = makeFixtureRoot();
  editConf(fixture.root, { 'system_config.enable_proxy': true, 'live_config.bilibili_live': { room_ids: [1, 2], sessdata: '' } });
  const harness = useTestServer(fixture, { get liveChat() { return { endpoints: danmaku.endpoints }; } });

  test('closes every room connection', async () => {
    await settleOrStall(danmaku.authenticated(2), 10_000, 'both rooms joined');
    expect(danmaku.auths.map((a) => a.roomid).sort()).toEqual([1, 2]);
    await harness.server.stop();
    await settleOrStall(danmaku.allClosed(), 10_000, 'the room connections closed');
    expect(danmaku.open()).toBe(0);
  });
});
