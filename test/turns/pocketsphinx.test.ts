import { pocketsphinxAsr } from '../../src/engines/asr/pocketsphinx-asr.js';
import { findProgram } from '../../src/engines/find-program.js';
import { espeakTtsEngine } from '../../src/engines/tts/espeak-tts.js';

const pocketsphinx = findProgram('pocketsphinx_continuous');
const espeak = findProgram('espeak-ng');

/** Linear resampling to 16 kHz floats in [-1, 1], as the web client sends mic audio. */
function to16k(samples: Int16Array, rate: number): Float32Array {
  const out = new Float32Array(Math.floor((samples.length * 16000) / rate));
  for (let i = 0; i < out.length; i++) {
    const x = (i * rate) / 16000;
    const j = Math.floor(x);
    const f = x - j;
    out[i] = ((samples[j] ?? 0) * (1 - f) + (samples[j + 1] ?? 0) * f) / 32768;
  }
  return out;
}

(pocketsphinx && espeak ? describe : describe.skip)('pocketsphinx_asr (offline, Debian pocketsphinx + pocketsphinx-en-us)', () => {
  test('recognises words in speech (espeak-ng speaking, resampled to 16 kHz)', async () => {
    const speech = await espeakTtsEngine({ program: espeak!, voice: 'en-us', speed: 130 }).synthesize('hello how are you today', new AbortController().signal);
    const text = await pocketsphinxAsr({ program: pocketsphinx! }).transcribe(to16k(speech!.samples, speech!.sampleRate), new AbortController().signal);
    expect(text).toMatch(/\b(hello|how|are|you|today)\b/);
  });

  test('silence gives no words', async () => {
    const text = await pocketsphinxAsr({ program: pocketsphinx! }).transcribe(new Float32Array(16000), new AbortController().signal);
    expect(text).toBe('');
  });
});
