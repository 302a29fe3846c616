import { readFileSync } from 'node:fs';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { editConf, useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { runServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { scrapeMetrics } from '../helpers/metrics-scrape.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { isChainEnd } from '../helpers/frames.js';

type F = Record<string, any>;

/** Resident memory of a process, from /proc. */
function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) * 1024;
}


const SENTENCES = 8;
/** One long sentence: about 10 s of audio from the fake TTS (50 ms per character), 640 kB as base64. */
const sentence = (reply: number, n: number) => `Reply ${reply} sentence ${n} goes on ${'and on '.repeat(26)}until it ends.`;

/**
 * Backpressure (docs/decisions.md, 9): a client that completes the handshake and stops reading while 20 long replies stream must not grow
 * the server (the real entry point, in its own process, so its RSS is its own).
 */
describe('a client that stops reading', () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let server: ServerProcess;
  let url = '';

  beforeAll(async () => {
    fake = await startFakeAiServer();
    fake.tts.msPerChar = 50;
    useFakeEngines(fixture.root, fake.baseUrl, { 'system_config.playback_slack_seconds': 0.2, 'system_config.tts_concurrency': 1 });
    editConf(fixture.root, { 'system_config.ws_ping_interval_seconds': 0 });
    // A bounded heap makes V8 collect the (large, short-lived) audio strings of each sentence before it grows its heap
    // further, so RSS measures what the server keeps, not when V8 chose to collect. Queued socket data lives outside
    // the heap: it is not capped by this.
    server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1'], { NODE_OPTIONS: '--max-old-space-size=160' });
    [, url] = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)) as unknown as [string, string];
  }, 30_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await fake?.close();
    fixture.cleanup();
  });

  test('20 long replies to a client that does not read: its audio is dropped, server RSS stays within 64 MiB of its start', async () => {
    let replies = 0;
    fake.llm = () => {
      const n = ++replies;
      return { tokens: tokens(Array.from({ length: SENTENCES }, (_, i) => sentence(n, i)).join(' ')) };
    };
    const wsUrl = `${url.replace(/^http/, 'ws')}/client-ws`;

    // A reading client first, so the baseline is taken after everything a turn needs was loaded once.
    const warm = await TestClient.connect(wsUrl);
    await warm.ready();
    warm.send({ type: 'text-input', text: 'warm up', images: [] });
    await warm.next('backend-synth-complete', 1, 20_000);
    warm.send({ type: 'frontend-playback-complete' });
    await warm.waitUntil((fs) => fs.some(isChainEnd), 5000, 'warm-up chain end');
    await warm.close();
    const baseline = rssBytes(server.child.pid!);

    const slow = await TestClient.connect(wsUrl);
    await slow.ready();
    slow.ws.pause(); // stops reading the TCP socket; it still writes
    const synthesised = async () => (await scrapeMetrics(url)).get('vas_tts_synthesis_seconds_count') ?? 0;
    const before = await synthesised();
    for (let i = 0; i < 20; i++) {
      const done = fake.speechRequests().length + SENTENCES;
      slow.send({ type: 'text-input', text: `tell me story ${i}`, images: [] });
      // The next input once the server has this reply's last synthesis (its audio and backend-synth-complete are then
      // sent): it replaces the reply, which waits for a playback that never comes. The fake finishing its answer is
      // not enough: the server may not have read it yet.
      await until(`reply ${i} synthesised`, () => fake.speechRequests().length >= done && fake.speechRequests().every((r) => r.finished || r.abortedAt !== undefined), 30_000);
      while ((await synthesised()) < before + (i + 1) * SENTENCES) await new Promise((r) => setImmediate(r));
    }
    await until('the last reply sent', () => fake.openResponses() === 0, 10_000);
    const metrics = await scrapeMetrics(url);
    expect(metrics.get('vas_turns_total')).toBe(21);
    expect(metrics.get('vas_backpressure_total{action="audio_dropped"}')).toBeGreaterThanOrEqual(1);
    const grown = rssBytes(server.child.pid!) - baseline;
    expect(grown).toBeLessThan(64 * 1024 * 1024);

    // Reading again, the client gets every reply's text; the audio beyond the bound came as silent payloads.
    slow.ws.resume();
    await slow.next('backend-synth-complete', 20, 30_000);
    slow.send({ type: 'frontend-playback-complete' });
    await slow.waitUntil((fs) => fs.filter(isChainEnd).length >= 20, 10_000, '20 chain ends');
    const audio = slow.ofType('audio') as F[];
    expect(audio).toHaveLength(20 * SENTENCES);
    expect(audio.every((f) => typeof f.display_text?.text === 'string')).toBe(true);
    expect(audio.filter((f) => f.audio === null).length).toBeGreaterThan(0);
    // What was queued for it is bounded: the 4 MiB of the bound, the kernel's socket buffers, one frame over
    // (without the bound, all 160 sentences' audio, about 100 MB, would have been queued).
    const audioBytes = audio.reduce((sum, f) => sum + (f.audio ? (f.audio as string).length : 0), 0);
    expect(audioBytes).toBeLessThan(32 * 1024 * 1024);
    expect(slow.ws.readyState).toBe(slow.ws.OPEN);
    await slow.close();
  }, 120_000);
});
