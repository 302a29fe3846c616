/**
 * npm run bench:speech-decode
 *
 * What it costs to turn one engine answer into the client's payload (decode, 16-bit WAV, base64, 20 ms volumes) for
 * a 3-second sentence in each format HTTP engines answer: 16-bit WAV at 24 kHz (the cheapest), 32-bit float WAV at
 * 44.1 kHz (Cartesia), raw PCM (GPT-SoVITS raw, ElevenLabs pcm_…), and MP3 (Fish, MiniMax, ElevenLabs, SiliconFlow,
 * OpenAI's default). The work is synchronous, so each figure is also how long it holds the event loop.
 * Median and p95 over --runs (default 60), and each format's median as a multiple of the WAV one.
 */
import { decodeAudio } from '../src/audio/decode-audio.js';
import { encodeWav, sliceVolumes } from '../src/audio/wav.js';
import { toneMp3, tonePcm, toneWav, toneWavFloat } from '../test/fakes/fake-speech-services.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';

const SECONDS = 3;
const runs = argNumber('runs', 60);

const formats: Array<[string, Buffer, { pcmSampleRate?: number }]> = [
  ['WAV 16-bit 24 kHz', toneWav(SECONDS * 1000, 24000), {}],
  ['WAV float 44.1 kHz', toneWavFloat(SECONDS * 1000, 44100), {}],
  ['raw PCM 32 kHz', tonePcm(SECONDS * 1000, 32000), { pcmSampleRate: 32000 }],
  ['MP3 24 kHz 48 kbit/s', toneMp3(SECONDS * 1000), {}],
];

async function main() {
  const results: Array<[string, number, number]> = [];
  for (const [name, bytes, hint] of formats) {
    const times: number[] = [];
    for (let i = 0; i < runs + 5; i++) {
      const started = performance.now();
      const audio = await decodeAudio(bytes, hint);
      encodeWav(audio).toString('base64');
      sliceVolumes(audio, 20);
      if (i >= 5) times.push(performance.now() - started); // the first runs warm up (WebAssembly, JIT)
    }
    results.push([name, median(times), percentile(times, 95)]);
  }
  const base = results[0]![1];
  console.log(`payload for a ${SECONDS} s sentence, ${runs} runs each (node ${process.version})`);
  for (const [name, med, p95] of results) console.log(`${name.padEnd(22)} median ${ms(med)}  p95 ${ms(p95)}  ×${(med / base).toFixed(1)} of WAV`);
}

void main();
