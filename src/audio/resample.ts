import type { PcmAudio } from './pcm-audio.js';

/**
 * Audio as a recogniser hears it: one channel of floats in [-1, 1] at a given rate. Recognisers are trained on 16 kHz
 * speech; a recording made at another rate and read as if it were 16 kHz comes out too fast or too slow.
 */

/** Interleaved 16-bit samples → one channel (the mean of the channels), scaled to [-1, 1). */
export function toMonoFloat({ channels, samples }: PcmAudio): Float32Array {
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c]!;
    out[f] = sum / channels / 32768;
  }
  return out;
}

/**
 * `samples` at `fromRate` → at `toRate`, with a triangle (tent) filter as wide as the longer sample period: linear
 * interpolation when the rate goes up, and an average over the input samples each output sample stands for when it
 * goes down, so frequencies the new rate cannot hold are damped rather than folded back into speech. About
 * 2 × max(1, fromRate / toRate) steps per output sample: minutes of audio take milliseconds.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const step = fromRate / toRate;
  const width = Math.max(1, step);
  const out = new Float32Array(Math.max(1, Math.floor((samples.length * toRate) / fromRate)));
  for (let i = 0; i < out.length; i++) {
    const centre = i * step;
    const first = Math.max(0, Math.ceil(centre - width));
    const last = Math.min(samples.length - 1, Math.floor(centre + width));
    let sum = 0;
    let weights = 0;
    for (let j = first; j <= last; j++) {
      const weight = 1 - Math.abs(j - centre) / width;
      if (weight <= 0) continue;
      sum += samples[j]! * weight;
      weights += weight;
    }
    out[i] = weights > 0 ? sum / weights : 0;
  }
  return out;
}
