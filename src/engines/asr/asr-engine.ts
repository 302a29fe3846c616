/** What every speech recogniser shares (the contract, AsrEngine, is machines/engine-contracts.ts). */
export { ASR_SAMPLE_RATE } from '../../../machines/engine-contracts.js';

/** Float samples in [-1, 1] → 16-bit PCM, clipped (upstream scales by 32767). */
export function toPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767);
  return out;
}
