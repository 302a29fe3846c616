import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { isChainEnd } from '../helpers/frames.js';

type F = Record<string, any>;

const SENTENCES = 8;
/** About 10 s of audio each from the fake TTS (50 ms per character). */
const longReply = (n: number) => Array.from({ length: SENTENCES }, (_, i) => `Reply ${n} sentence ${i} goes on ${'and on '.repeat(26)}until it ends.`).join(' ');

/** Backpressure for /proxy-ws (docs/decisions.md, 9): a viewer that stops reading loses its audio; the other viewers get theirs, unslowed. */
describe('/proxy-ws: a viewer that stops reading', () => {
  const harness = useFakeEngineServer({
    conf: {
      'system_config.enable_proxy': true,
      'system_config.ws_max_buffered_bytes': 1024 * 1024,
      'system_config.ws_ping_interval_seconds': 0,
      'system_config.tts_concurrency': 1,
    },
    prepare: (_fixture, fake) => (fake.tts.msPerChar = 50),
  });
  const proxyUrl = () => harness.server.wsUrl.replace(/client-ws$/, 'proxy-ws');

  test('its audio is dropped for the rest of each reply; the reading viewer gets every sentence with its audio', async () => {
    let n = 0;
    harness.fake.llm = () => ({ tokens: tokens(longReply(++n)) });
    const reader = await TestClient.connect(proxyUrl());
    reader.ws.on('message', (data) => {
      if ((JSON.parse(String(data)) as F).type === 'backend-synth-complete') reader.send({ type: 'frontend-playback-complete' });
    });
    await reader.ready();
    const slow = await TestClient.connect(proxyUrl());
    await slow.ready();
    slow.ws.pause();

    const replies = 6;
    for (let i = 0; i < replies; i++) reader.send({ type: 'text-input', text: `story ${i}`, images: [] });
    await reader.waitUntil((fs) => fs.filter(isChainEnd).length >= replies, 60_000, `${replies} chain ends`);
    const heard = reader.ofType('audio') as F[];
    expect(heard).toHaveLength(replies * SENTENCES);
    expect(heard.every((f) => f.audio !== null)).toBe(true);

    const metrics = await (await fetch(`${harness.server.url}/metrics`)).text();
    expect(metrics).toMatch(/vas_backpressure_total\{action="audio_dropped"\} [1-9]/);

    slow.ws.resume();
    await slow.waitUntil((fs) => fs.filter(isChainEnd).length >= replies, 30_000, 'the slow viewer caught up');
    const got = slow.ofType('audio') as F[];
    expect(got).toHaveLength(replies * SENTENCES);
    expect(got.some((f) => f.audio === null)).toBe(true);
    expect(got.map((f) => f.display_text.text)).toEqual(heard.map((f) => f.display_text.text));
    await until('sockets open', () => slow.ws.readyState === slow.ws.OPEN);
    await reader.close();
    await slow.close();
  }, 90_000);
});
