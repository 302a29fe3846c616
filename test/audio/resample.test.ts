import { resample, toMonoFloat } from '../../src/audio/resample.js';

/** `seconds` of a sine at `hz`, sampled at `rate`. */
function sine(hz: number, rate: number, seconds = 1): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));
}

/** Rising zero crossings per second: the frequency a signal carries. */
function frequency(samples: Float32Array, rate: number): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings++;
  return (crossings * rate) / samples.length;
}

const rms = (samples: Float32Array) => Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length);

describe('resample: a recording at any rate heard at 16 kHz', () => {
  test.each([8000, 22050, 44100, 48000])('a 440 Hz tone at %i Hz is a 440 Hz tone of the same length at 16 kHz', (rate) => {
    const out = resample(sine(440, rate), rate, 16000);
    expect(out.length).toBe(16000);
    expect(frequency(out, 16000)).toBeCloseTo(440, -1);
    expect(rms(out)).toBeGreaterThan(0.3);
  });

  test('going down, a tone the new rate cannot hold (12 kHz, over 16 kHz\'s 8 kHz) is damped, not folded back at full strength', () => {
    expect(rms(resample(sine(12_000, 48000), 48000, 16000))).toBeLessThan(0.5 * rms(sine(12_000, 48000)));
  });

  test('the same rate is the same samples', () => {
    const samples = sine(440, 16000, 0.1);
    expect(resample(samples, 16000, 16000)).toBe(samples);
  });

  test('toMonoFloat: interleaved channels are averaged and scaled to [-1, 1)', () => {
    const mono = toMonoFloat({ sampleRate: 16000, channels: 2, samples: Int16Array.from([32767, -32768, 16384, 16384]) });
    expect(Array.from(mono)).toEqual([expect.closeTo(0, 3), 0.5]);
  });
});
