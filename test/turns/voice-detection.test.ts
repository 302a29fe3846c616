import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { findProgram } from '../../src/engines/find-program.js';
import { espeakTtsEngine } from '../../src/engines/tts/espeak-tts.js';
import { SHARED_HINT, SHARED_WEB_CLIENT } from '../helpers/archive-server.js';
import { editConf } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { scrapeMetrics } from '../helpers/metrics-scrape.js';
import { useTestServer } from '../helpers/server-harness.js';
import { sleep, TestClient, until, type Frame } from '../helpers/ws-client.js';

/**
 * Voice detection on the server over a real socket: espeak-ng speaks, the test streams it as `raw-audio-data` at
 * real-time pace in frames of 512 to 4096 samples (as a hardware client would), the web client's Silero model
 * finds the speech, and pocketsphinx recognises it in the turn that follows. The rest of the stack is the offline
 * one (the built-in talker, espeak-ng).
 */

const SILERO = path.join(SHARED_WEB_CLIENT, 'libs', 'silero_vad_v5.onnx');
const espeak = findProgram('espeak-ng');
const pocketsphinx = findProgram('pocketsphinx_continuous');
const needs = [
  existsSync(SILERO) ? '' : `the web client's Silero model (${SHARED_HINT})`,
  espeak ? '' : 'espeak-ng',
  pocketsphinx ? '' : 'pocketsphinx',
].filter(Boolean);

const RATE = 16000;
const WORDS = /\b(hello|how|are|you|today)\b/;

/** espeak-ng's voice (22050 Hz), at 16 kHz in -1…1 as a client streams it. */
async function speech(text: string): Promise<Float32Array> {
  const audio = await espeakTtsEngine({ program: espeak!, voice: 'en-us', speed: 130 }).synthesize(text, new AbortController().signal);
  const { samples, sampleRate } = audio!;
  const out = new Float32Array(Math.floor((samples.length * RATE) / sampleRate));
  for (let i = 0; i < out.length; i++) {
    const x = (i * sampleRate) / RATE;
    const j = Math.floor(x);
    const f = x - j;
    out[i] = ((samples[j] ?? 0) * (1 - f) + (samples[j + 1] ?? 0) * f) / 32768;
  }
  return out;
}

/** White noise (a fixed seed) of this amplitude; 0 is digital silence. */
function noise(seconds: number, amplitude: number): Float32Array {
  let seed = 7;
  return Float32Array.from({ length: Math.round(seconds * RATE) }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return amplitude * ((seed / 2147483648) * 2 - 1);
  });
}

const join = (...parts: Float32Array[]) => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

/** Streams the samples as raw-audio-data in frames of varying size, each sent when the audio before it has "played". */
async function stream(client: TestClient, samples: Float32Array): Promise<void> {
  const sizes = [512, 1000, 4096, 2048, 777, 1536];
  for (let at = 0, i = 0; at < samples.length; i++) {
    const size = sizes[i % sizes.length]!;
    client.send({ type: 'raw-audio-data', audio: Array.from(samples.subarray(at, at + size), (v) => Math.round(v * 1e5) / 1e5) });
    at += size;
    await sleep((size / RATE) * 1000);
  }
}

/** As a client does once the reply's audio has played: after the n-th backend-synth-complete. */
async function playedOut(client: TestClient, n: number): Promise<void> {
  await client.next('backend-synth-complete', n, 30_000);
  client.send({ type: 'frontend-playback-complete' });
}

const control = (text: string) => (f: Frame) => f.type === 'control' && f.text === text;
const count = (frames: Frame[], text: string) => frames.filter(control(text)).length;

(needs.length === 0 ? describe : describe.skip)(`voice detection on the server (raw-audio-data)${needs.length ? ` [skipped: needs ${needs.join(', ')}]` : ''}`, () => {
  const fixture = makeFixtureRoot();
  // The web client's copy, where the first start puts the web client: found without model_path.
  if (existsSync(SILERO)) {
    mkdirSync(path.join(fixture.root, 'frontend', 'libs'), { recursive: true });
    copyFileSync(SILERO, path.join(fixture.root, 'frontend', 'libs', 'silero_vad_v5.onnx'));
  }
  editConf(fixture.root, {
    'character_config.vad_config': { vad_model: 'silero_vad' },
    // The barge-in test needs the first reply still playing when the user speaks.
    'system_config.playback_slack_seconds': 30,
  });
  fixture.write('characters/deaf.yaml', "character_config:\n  conf_name: 'deaf'\n  conf_uid: 'deaf'\n  vad_config:\n    vad_model: 'silero_vad'\n    silero_vad:\n      model_path: './models/nowhere.onnx'\n");
  const harness = useTestServer(fixture);

  test('speech is found and answered; silence and loud noise are not; a second client streaming noise meanwhile hears nothing of it', async () => {
    const [speaker, bystander] = await Promise.all([TestClient.connect(harness.server.wsUrl), TestClient.connect(harness.server.wsUrl)]);
    await Promise.all([speaker.ready(), bystander.ready()]);
    const voice = await speech('hello how are you today');
    const quiet = join(noise(0.5, 0), noise(1, 0.003), noise(1.5, 0.1), noise(2, 0));
    await Promise.all([stream(speaker, join(quiet, voice, noise(2.5, 0))), stream(bystander, join(quiet, quiet))]);
    await playedOut(speaker, 1);
    await speaker.waitUntil((fs) => count(fs, 'conversation-chain-end') === 1, 10_000, 'the turn of the utterance');
    // An upstream client answers the server's mic-audio-end with its own: taken, no error, no second turn.
    speaker.send({ type: 'mic-audio-end', images: [] });
    await speaker.roundTrip();

    const heard = speaker.frames.slice(5);
    expect(heard.slice(0, 3)).toEqual([
      { type: 'control', text: 'interrupt' },
      { type: 'control', text: 'mic-audio-end' },
      { type: 'control', text: 'conversation-chain-start' },
    ]);
    expect(String(heard.find((f) => f.type === 'user-input-transcription')?.text)).toMatch(WORDS);
    expect(heard.filter((f) => f.type === 'audio').length).toBeGreaterThan(0);
    expect(heard.filter((f) => f.type === 'error')).toEqual([]);
    expect([count(heard, 'interrupt'), count(heard, 'mic-audio-end'), count(heard, 'conversation-chain-start'), count(heard, 'conversation-chain-end')]).toEqual([1, 1, 1, 1]);
    expect(heard.at(-1)).toEqual({ type: 'heartbeat-ack' });

    await bystander.roundTrip();
    expect(bystander.frames.slice(5)).toEqual([{ type: 'heartbeat-ack' }]);
    await Promise.all([speaker.close(), bystander.close()]);
  }, 60_000);

  test('barge-in: speech during a reply cuts it short (its chain closed), then the utterance is the next turn', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'text-input', text: 'Tell me about your day and the weather where you are', images: [] });
    await client.next('audio', 1, 15_000);
    const voice = await speech('hello how are you today');
    await stream(client, join(noise(0.3, 0), voice, noise(2.5, 0)));
    await playedOut(client, 2);
    await client.waitUntil((fs) => count(fs, 'conversation-chain-end') === 2, 10_000, 'the interrupted reply and the turn of the utterance');

    const frames = client.frames.slice(5);
    const cut = frames.findIndex(control('interrupt'));
    expect(cut).toBeGreaterThan(frames.findIndex((f) => f.type === 'audio'));
    expect(frames.slice(cut, cut + 5)).toEqual([
      { type: 'control', text: 'interrupt' },
      { type: 'force-new-message' },
      { type: 'control', text: 'conversation-chain-end' },
      { type: 'control', text: 'mic-audio-end' },
      { type: 'control', text: 'conversation-chain-start' },
    ]);
    expect(String(frames.find((f) => f.type === 'user-input-transcription')?.text)).toMatch(WORDS);
    expect(frames.filter((f) => f.type === 'error')).toEqual([]);
    await client.close();
  }, 60_000);

  test('a model that is not there: one clear error naming where it looked, then raw audio is ignored', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'switch-config', file: 'deaf.yaml' });
    await client.next('config-switched', 1, 10_000);
    const before = client.frames.length;
    client.send({ type: 'raw-audio-data', audio: Array.from(noise(0.1, 0.01)) });
    client.send({ type: 'raw-audio-data', audio: Array.from(noise(0.1, 0.01)) });
    await client.roundTrip();
    expect(client.frames.slice(before)).toEqual([
      {
        type: 'error',
        code: 'vad',
        message: `Voice detection failed: silero_vad: vad_config.silero_vad.model_path names ${path.join(fixture.root, 'models', 'nowhere.onnx')}, which does not exist`,
      },
      { type: 'heartbeat-ack' },
    ]);
    await client.close();
  }, 30_000);

  test('a client that leaves mid-utterance: its session and its detector end with it', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const voice = await speech('hello how are you today');
    await stream(client, voice.subarray(0, Math.floor(voice.length / 2)));
    await client.waitUntil((fs) => fs.some(control('interrupt')), 10_000, 'the speech start');
    const live = await scrapeMetrics(harness.server.url);
    expect([live.get('vas_live_actors{kind="voiceDetection"}'), live.get('vas_live_actors{kind="speechProbability"}')]).toEqual([1, 1]);
    await client.close();
    await until('the session to end', () => harness.server.sessionCount() === 0, 5000);
    const after = await scrapeMetrics(harness.server.url);
    expect([after.get('vas_live_actors{kind="voiceDetection"}') ?? 0, after.get('vas_live_actors{kind="speechProbability"}') ?? 0]).toEqual([0, 0]);
  }, 30_000);
});
