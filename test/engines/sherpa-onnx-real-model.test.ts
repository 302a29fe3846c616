import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeWav } from '../../src/audio/wav.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';
import type { PcmAudio } from '../../src/audio/pcm-audio.js';

/**
 * Recognition and synthesis on real sherpa-onnx models, when the machine has them (none can be downloaded here):
 *   SHERPA_ONNX_ASR_MODEL_DIR=/path/to/sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17 (or a Whisper, Paraformer or
 *     transducer release folder)
 *   SHERPA_ONNX_TTS_MODEL_DIR=/path/to/vits-piper-en_US-amy-low (or another VITS/Piper folder, or a Kokoro one)
 * Without them these tests are skipped (docs/providers.md, "Local speech with sherpa-onnx").
 */
const ASR_DIR = process.env.SHERPA_ONNX_ASR_MODEL_DIR;
const TTS_DIR = process.env.SHERPA_ONNX_TTS_MODEL_DIR;

function pick(dir: string, pattern: RegExp): string | undefined {
  const files = readdirSync(dir).filter((f) => pattern.test(f)).sort();
  const chosen = files.find((f) => f.includes('int8')) ?? files[0];
  return chosen ? path.join(dir, chosen) : undefined;
}

/** The sherpa_onnx_asr block for a release folder, as a user would write it. */
function asrBlock(dir: string): Record<string, unknown> {
  const name = path.basename(dir);
  const tokensFile = pick(dir, /tokens\.txt$/);
  if (pick(dir, /joiner.*\.onnx$/)) {
    return { model_type: 'transducer', encoder: pick(dir, /encoder.*\.onnx$/), decoder: pick(dir, /decoder.*\.onnx$/), joiner: pick(dir, /joiner.*\.onnx$/), tokens: tokensFile, num_threads: 2 };
  }
  if (name.includes('whisper')) {
    return { model_type: 'whisper', whisper_encoder: pick(dir, /encoder.*\.onnx$/), whisper_decoder: pick(dir, /decoder.*\.onnx$/), tokens: tokensFile, num_threads: 2 };
  }
  const model = pick(dir, /^model.*\.onnx$/);
  return name.includes('paraformer')
    ? { model_type: 'paraformer', paraformer: model, tokens: tokensFile, num_threads: 2 }
    : { model_type: 'sense_voice', sense_voice: model, tokens: tokensFile, num_threads: 2, use_itn: true };
}

/** The sherpa_onnx_tts block for a voice folder: Kokoro when it has voices.bin, else VITS (Piper, MeloTTS, …). */
function ttsBlock(dir: string): Record<string, unknown> {
  const at = (f: string) => (existsSync(path.join(dir, f)) ? path.join(dir, f) : undefined);
  if (at('voices.bin')) {
    return { model_type: 'kokoro', kokoro_model: pick(dir, /\.onnx$/), kokoro_voices: at('voices.bin'), kokoro_tokens: at('tokens.txt'), kokoro_data_dir: at('espeak-ng-data'), sid: 0 };
  }
  return { vits_model: pick(dir, /\.onnx$/), vits_tokens: at('tokens.txt'), vits_lexicon: at('lexicon.txt'), vits_data_dir: at('espeak-ng-data'), vits_dict_dir: at('dict'), sid: 0 };
}

/** Linear resampling to the recogniser's 16 kHz, as floats in [-1, 1]. */
function toFloat16k(audio: PcmAudio): number[] {
  const ratio = audio.sampleRate / 16000;
  const out: number[] = [];
  for (let t = 0; t * ratio < audio.samples.length - 1; t++) {
    const x = t * ratio;
    const i = Math.floor(x);
    out.push(((audio.samples[i]! * (1 - (x - i)) + audio.samples[i + 1]! * (x - i)) / 32768));
  }
  return out;
}

const SENTENCE = 'Hello, what is your name?';

(ASR_DIR || TTS_DIR ? describe : describe.skip)('sherpa-onnx on real models (SHERPA_ONNX_ASR_MODEL_DIR / SHERPA_ONNX_TTS_MODEL_DIR)', () => {
  const conf: Record<string, unknown> = {};
  if (ASR_DIR) Object.assign(conf, { 'character_config.asr_config.asr_model': 'sherpa_onnx_asr', 'character_config.asr_config.sherpa_onnx_asr': asrBlock(ASR_DIR) });
  if (TTS_DIR) Object.assign(conf, { 'character_config.tts_config.tts_model': 'sherpa_onnx_tts', 'character_config.tts_config.sherpa_onnx_tts': ttsBlock(TTS_DIR) });
  const harness = useFakeEngineServer({ conf });
  let spoken: PcmAudio | undefined;

  (TTS_DIR ? test : test.skip)('sherpa_onnx_tts speaks a reply: WAV audio with its volumes, in sentence order', async () => {
    harness.fake.llm = () => ({ tokens: tokens(SENTENCE) });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'text-input', text: 'who are you?', images: [] });
    await client.next('backend-synth-complete', 1, 120_000);
    // faster_first_response may send "Hello," on its own: every part is spoken, and together they are the sentence.
    const audio = client.ofType('audio');
    expect(audio.length).toBeGreaterThan(0);
    const parts = audio.map((f) => {
      expect(f.audio).toEqual(expect.any(String));
      expect(Math.max(...(f.volumes as number[]))).toBe(1);
      return decodeWav(Buffer.from(f.audio as string, 'base64'));
    });
    const samples = new Int16Array(parts.reduce((n, p) => n + p.samples.length, 0));
    parts.reduce((at, p) => (samples.set(p.samples, at), at + p.samples.length), 0);
    spoken = { sampleRate: parts[0]!.sampleRate, channels: 1, samples };
    expect(samples.length / spoken.sampleRate).toBeGreaterThan(0.5);
    await client.close();
  }, 180_000);

  (ASR_DIR ? test : test.skip)('sherpa_onnx_asr transcribes mic audio (the voice above, or the model folder’s own test wav)', async () => {
    let samples: number[];
    let expectWords: RegExp;
    if (spoken) {
      samples = toFloat16k(spoken);
      expectWords = /name/i;
    } else {
      const wavs = path.join(ASR_DIR!, 'test_wavs');
      const wav = existsSync(wavs) ? readdirSync(wavs).find((f) => f.startsWith('en') && f.endsWith('.wav')) ?? readdirSync(wavs).find((f) => f.endsWith('.wav')) : undefined;
      if (!wav) throw new Error(`${ASR_DIR} has no test_wavs/*.wav; set SHERPA_ONNX_TTS_MODEL_DIR too so the voice can be recognised`);
      samples = toFloat16k(decodeWav(readFileSync(path.join(wavs, wav))));
      expectWords = /\p{L}/u;
    }
    harness.fake.llm = () => ({ tokens: tokens('Nice to meet you.') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    for (let i = 0; i < samples.length; i += 4096) client.send({ type: 'mic-audio-data', audio: samples.slice(i, i + 4096) });
    client.send({ type: 'mic-audio-end', images: [] });
    const answered = (f: { type: string }) => f.type === 'user-input-transcription' || f.type === 'error';
    await client.waitUntil((frames) => frames.some(answered), 120_000, 'a transcription or an error');
    expect(client.ofType('error')).toEqual([]); // a failure shows its message here, not after a timeout
    expect(client.ofType('user-input-transcription')[0]!.text).toMatch(expectWords);
    await client.close();
  }, 180_000);
});
