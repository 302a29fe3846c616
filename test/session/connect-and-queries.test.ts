import os from 'node:os';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('connect sequence and stateless requests (docs/protocol.md: Connect sequence, Requests)', () => {
  const fixture = makeFixtureRoot();
  fixture.write('backgrounds/nested/moon.PNG', Buffer.from('x'));
  fixture.write('backgrounds/notes.txt', 'not an image');
  fixture.write('characters/more/deep.yaml', "character_config:\n  conf_name: 'deep_one'\n  conf_uid: 'deep'\n");
  const harness = useTestServer(fixture);

  test('the five connect frames arrive first, in the upstream order, with a fresh uuid4 client_uid', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const [a, b, c, d, e] = client.frames;
    expect(client.frames).toHaveLength(5);
    expect(a).toEqual({ type: 'group-update', members: [], is_owner: false });
    expect(b).toEqual({ type: 'full-text', text: 'Connection established' });
    expect(c).toMatchObject({ type: 'set-model-and-conf', conf_name: 'mao_pro', conf_uid: 'mao_pro_001' });
    expect(c!.model_info).toEqual({
      name: 'mao_pro',
      description: '',
      url: '/live2d-models/mao_pro/runtime/mao_pro.model3.json',
      kScale: 0.5,
      initialXshift: 0,
      initialYshift: 0,
      kXOffset: 1150,
      idleMotionGroupName: 'Idle',
      emotionMap: { neutral: 0, anger: 2, disgust: 2, fear: 1, joy: 3, smirk: 3, sadness: 1, surprise: 3 },
      tapMotions: { HitAreaHead: { '': 1 }, HitAreaBody: { '': 1 } },
    });
    expect(c!.client_uid).toMatch(UUID);
    expect(d).toEqual({ type: 'group-update', members: [], is_owner: false });
    expect(e).toEqual({ type: 'control', text: 'start-mic' });

    const other = await TestClient.connect(harness.server.wsUrl);
    await other.ready();
    expect(other.frames[2]!.client_uid).toMatch(UUID);
    expect(other.frames[2]!.client_uid).not.toBe(c!.client_uid);
    await Promise.all([client.close(), other.close()]);
  });

  test('frames the client sends before the connect frames are answered after them, in order', async () => {
    const client = new TestClient(harness.server.wsUrl);
    await client.opened;
    client.send({ type: 'fetch-backgrounds' });
    client.send({ type: 'fetch-configs' });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    await client.next('config-files');
    await client.next('background-files');
    const types = client.frames.map((f) => f.type);
    expect(types.slice(0, 5)).toEqual(['group-update', 'full-text', 'set-model-and-conf', 'group-update', 'control']);
    await client.close();
  });

  test('fetch-configs lists conf.yaml first, then every alternate (subfolders by relative path) with its conf_name', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'fetch-configs' });
    const reply = await client.next('config-files');
    expect(reply.configs).toEqual([
      { filename: 'conf.yaml', name: 'mao_pro' },
      { filename: 'en_storyteller.yaml', name: 'storyteller' },
      { filename: 'en_unhelpful_ai.yaml', name: 'unhelpful_ai' },
      { filename: 'more/deep.yaml', name: 'deep_one' },
    ]);
    await client.close();
  });

  test('fetch-backgrounds lists image files (any case, subfolders by relative path) and nothing else', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'fetch-backgrounds' });
    const reply = await client.next('background-files');
    expect(reply.files).toEqual(['cartoon-night-landscape-moon.jpeg', 'ceiling-window-room-night.jpeg', 'nested/moon.PNG']);
    const res = await fetch(`${harness.server.url}/bg/nested/moon.PNG`);
    expect(res.status).toBe(200);
    await client.close();
  });

  test('heartbeat gets heartbeat-ack; request-init-config gets set-model-and-conf with this client_uid', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const uid = client.frames[2]!.client_uid;
    client.send({ type: 'heartbeat' });
    client.send({ type: 'request-init-config', client_id: 'proxy-1' });
    await client.next('set-model-and-conf', 2);
    expect(client.frames.slice(5)).toEqual([
      { type: 'heartbeat-ack' },
      expect.objectContaining({ type: 'set-model-and-conf', conf_uid: 'mao_pro_001', client_uid: uid }),
    ]);
    await client.close();
  });

  test('normal client traffic with no turn running changes nothing and sends nothing', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'interrupt-signal', text: 'heard' });
    client.send({ type: 'frontend-playback-complete' });
    client.send({ type: 'audio-play-start', display_text: { text: 'x', name: 'Mao', avatar: 'mao.png' }, forwarded: true });
    client.send({ type: 'mic-audio-data', audio: [0, 0.1, -0.1] });
    // Anything these frames caused would be sent before the answer to the heartbeat that follows them.
    await client.roundTrip();
    expect(client.frames.slice(5)).toEqual([{ type: 'heartbeat-ack' }]);
    await client.close();
  });

  test('a closed socket moves its session to disconnected: the registry and the live actors drop to zero', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(harness.server.wsUrl)));
    await Promise.all(clients.map((c) => c.ready()));
    expect(harness.server.sessionCount()).toBe(3);
    await Promise.all(clients.map((c) => c.close()));
    await until('the sessions are gone', () => harness.server.sessionCount() === 0);
    expect(harness.server.census.countExcept(SERVER_ACTOR_KINDS)).toBe(0);
    expect(await (await fetch(`${harness.server.url}/healthz`)).json()).toEqual({ status: 'ok', instance_id: `${os.hostname()}-${process.pid}`, sessions: 0, actors: 0 });
  });
});
