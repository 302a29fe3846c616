import { decodeWav } from '../../src/audio/wav.js';
import { edgeSsml, edgeTtsEngine, secMsGec } from '../../src/engines/tts/edge-tts.js';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { startFakeEdgeServer } from '../fakes/fake-edge-server.js';
import { editConf, useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient, until } from '../helpers/ws-client.js';

describe('edge_tts (upstream\'s default voices): the read-aloud WebSocket protocol, MP3 decoded to PCM WAV', () => {
  let edge: Awaited<ReturnType<typeof startFakeEdgeServer>>;
  beforeAll(async () => {
    edge = await startFakeEdgeServer();
  });
  afterAll(() => edge.close());

  test('Sec-MS-GEC changes every five minutes and is an uppercase SHA-256', () => {
    const t = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(secMsGec(t)).toMatch(/^[0-9A-F]{64}$/);
    expect(secMsGec(t + 299_000)).toBe(secMsGec(t));
    expect(secMsGec(t + 300_000)).not.toBe(secMsGec(t));
  });

  test('SSML escapes the text and takes the language from the voice', () => {
    expect(edgeSsml('Tom & "Jerry" <3', { voice: 'ja-JP-NanamiNeural' })).toBe(
      "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='ja-JP'><voice name='ja-JP-NanamiNeural'>" +
        "<prosody pitch='+0Hz' rate='+0%' volume='+0%'>Tom &amp; &quot;Jerry&quot; &lt;3</prosody></voice></speak>",
    );
  });

  test('a sentence becomes 24 kHz 16-bit mono PCM of about the right length', async () => {
    const engine = edgeTtsEngine({ voice: 'en-US-AvaMultilingualNeural', endpoint: edge.endpoint });
    const audio = await engine.synthesize('Hello there!', new AbortController().signal);
    expect(audio!.sampleRate).toBe(24000);
    expect(audio!.channels).toBe(1);
    const ms = (audio!.samples.length / 24000) * 1000;
    expect(ms).toBeGreaterThan(12 * 40 - 10);
    expect(ms).toBeLessThan(12 * 40 + 150); // MP3 frames pad a little
    expect(Math.max(...audio!.samples.slice(2000, 4000))).toBeGreaterThan(6000);
    const request = edge.requests.at(-1)!;
    expect(request.query.get('ConnectionId')).toMatch(/^[0-9a-f]{32}$/);
    expect(request.query.get('Sec-MS-GEC-Version')).toMatch(/^1-\d+\./);
    expect(request.headers.origin).toBe('chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold');
    expect(request.messages[0]).toMatch(/Path:speech\.config[\s\S]*"outputFormat":"audio-24khz-48kbitrate-mono-mp3"/);
    expect(request.messages[1]).toMatch(/Path:ssml\r\n\r\n<speak[\s\S]*Hello there!/);
    expect(edge.openConnections()).toBe(0);
  });

  test('aborting closes the connection', async () => {
    const stalled = await startFakeEdgeServer({ stallAfterConfig: true });
    const controller = new AbortController();
    const engine = edgeTtsEngine({ voice: 'en-US-AvaMultilingualNeural', endpoint: stalled.endpoint });
    const pending = engine.synthesize('never answered', controller.signal).catch((err: Error) => err);
    await until('the connection is open', () => stalled.openConnections() === 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until('the connection is closed', () => stalled.openConnections() === 0);
    await stalled.close();
  });
});

describe('edge_tts in a turn', () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let edge: Awaited<ReturnType<typeof startFakeEdgeServer>>;
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    fake = await startFakeAiServer();
    edge = await startFakeEdgeServer();
    useFakeEngines(fixture.root, fake.baseUrl);
    editConf(fixture.root, {
      'character_config.tts_config.tts_model': 'edge_tts',
      'character_config.tts_config.edge_tts': { voice: 'en-US-AvaMultilingualNeural', endpoint: edge.endpoint },
    });
    server = await startTestServer(fixture.root);
  });
  afterAll(async () => {
    await server.stop();
    await edge.close();
    await fake.close();
    fixture.cleanup();
  });

  test('audio frames carry canonical WAV decoded from Edge\'s MP3', async () => {
    fake.llm = () => ({ tokens: tokens('[joy] Hello there! How are you?') });
    const client = await TestClient.connect(server.wsUrl);
    await client.ready();
    client.send({ type: 'text-input', text: 'Hi', images: [] });
    await client.next('backend-synth-complete');
    const frames = client.ofType('audio');
    expect(frames).toHaveLength(2);
    for (const frame of frames) {
      const wav = Buffer.from(frame.audio as string, 'base64');
      expect(wav.readUInt16LE(20)).toBe(1);
      expect(wav.readUInt16LE(34)).toBe(16);
      expect(decodeWav(wav).sampleRate).toBe(24000);
    }
    await client.close();
  });
});
