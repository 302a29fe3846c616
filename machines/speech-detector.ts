import { VAD_MIN_UTTERANCE_WINDOWS, VAD_PRE_ROLL_WINDOWS, VAD_WINDOW, type VoiceDetectionSettings } from './voice-detection-contract.js';

/**
 * Upstream's speech detector, as pure functions over windows of 512 samples. Each window has a speech probability
 * (from the model) and a loudness (dB of its samples as 16-bit values); both are averaged over the last
 * `smoothingWindow` windows, and a window is a *hit* when both averages reach their thresholds.
 *
 *   idle ──requiredHits hits in a row──▶ active (speech-start)
 *   active ──requiredMisses misses in a row──▶ inactive
 *   inactive ──requiredHits hits in a row──▶ active
 *   inactive ──requiredMisses misses (not broken by requiredHits hits)──▶ idle (utterance)
 *
 * The utterance is the quiet windows kept before the start (pre-roll) and every window after it. Unlike upstream, a
 * trailing part window is kept for the next frame, a segment too short to keep is forgotten (upstream prepended it to
 * the next utterance), and speech longer than the bound is dropped instead of buffered without end.
 */

export interface DetectorState {
  phase: 'idle' | 'active' | 'inactive';
  hits: number;
  misses: number;
  /** The last `smoothingWindow` probabilities and loudnesses. */
  probs: number[];
  dbs: number[];
  /** Windows heard while idle, the last VAD_PRE_ROLL_WINDOWS of them. */
  preRoll: Float32Array[];
  /** Windows since speech started. */
  speech: Float32Array[];
}

export type DetectorOutput = { type: 'speech-start' } | { type: 'utterance'; samples: Float32Array } | { type: 'too-long' };

export const QUIET: DetectorState = { phase: 'idle', hits: 0, misses: 0, probs: [], dbs: [], preRoll: [], speech: [] };

/** 20·log10 of the RMS of the window as 16-bit samples (upstream's measure); -Infinity for digital silence. */
export function windowDb(window: Float32Array): number {
  let sum = 0;
  for (const sample of window) sum += (sample * 32767) ** 2;
  const rms = Math.sqrt(sum / window.length);
  return rms > 0 ? 20 * Math.log10(rms + 1e-7) : -Infinity;
}

/** A frame's samples after the part window left from the last one: whole windows (clipped to -1…1) and what is left. */
export function splitWindows(carry: Float32Array, samples: readonly number[]): { windows: Float32Array[]; carry: Float32Array } {
  const all = new Float32Array(carry.length + samples.length);
  all.set(carry, 0);
  for (let i = 0; i < samples.length; i++) all[carry.length + i] = Math.max(-1, Math.min(1, samples[i]!));
  const whole = Math.floor(all.length / VAD_WINDOW);
  const windows: Float32Array[] = [];
  for (let w = 0; w < whole; w++) windows.push(all.slice(w * VAD_WINDOW, (w + 1) * VAD_WINDOW));
  return { windows, carry: all.slice(whole * VAD_WINDOW) };
}

/** Windows one after the other in one array (what the judging slot takes, and what an utterance is). */
export function joinWindows(windows: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(windows.length * VAD_WINDOW);
  windows.forEach((w, i) => out.set(w, i * VAD_WINDOW));
  return out;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * The detector after `windows`, judged `probs` (one each, in order), with what each caused. `maxUtteranceSamples`
 * bounds the pre-roll and the speech together: beyond it the speech is dropped (`too-long`) and the detector is idle.
 */
export function detect(
  before: DetectorState,
  settings: VoiceDetectionSettings,
  maxUtteranceSamples: number,
  windows: readonly Float32Array[],
  probs: readonly number[],
): { state: DetectorState; outputs: DetectorOutput[] } {
  const s: DetectorState = { ...before, probs: [...before.probs], dbs: [...before.dbs], preRoll: [...before.preRoll], speech: [...before.speech] };
  const outputs: DetectorOutput[] = [];
  const reset = () => {
    Object.assign(s, { phase: 'idle', hits: 0, misses: 0, preRoll: [], speech: [] });
  };
  windows.forEach((window, i) => {
    s.probs.push(probs[i]!);
    s.dbs.push(windowDb(window));
    if (s.probs.length > settings.smoothingWindow) s.probs.shift();
    if (s.dbs.length > settings.smoothingWindow) s.dbs.shift();
    const hit = mean(s.probs) >= settings.probThreshold && mean(s.dbs) >= settings.dbThreshold;
    if (s.phase === 'idle') {
      s.preRoll.push(window);
      if (s.preRoll.length > VAD_PRE_ROLL_WINDOWS) s.preRoll.shift();
      s.hits = hit ? s.hits + 1 : 0;
      if (s.hits >= settings.requiredHits) {
        Object.assign(s, { phase: 'active', hits: 0, misses: 0 });
        outputs.push({ type: 'speech-start' });
      }
      return;
    }
    s.speech.push(window);
    if ((s.preRoll.length + s.speech.length) * VAD_WINDOW > maxUtteranceSamples) {
      reset();
      outputs.push({ type: 'too-long' });
      return;
    }
    if (s.phase === 'active') {
      s.misses = hit ? 0 : s.misses + 1;
      if (s.misses >= settings.requiredMisses) Object.assign(s, { phase: 'inactive', misses: 0 });
      return;
    }
    // inactive: a pause; hits in a row resume the speech, misses (counted across single hits) end it.
    if (hit) {
      s.hits += 1;
      if (s.hits >= settings.requiredHits) Object.assign(s, { phase: 'active', hits: 0, misses: 0 });
      return;
    }
    s.hits = 0;
    s.misses += 1;
    if (s.misses < settings.requiredMisses) return;
    if (s.speech.length >= VAD_MIN_UTTERANCE_WINDOWS) outputs.push({ type: 'utterance', samples: joinWindows([...s.preRoll, ...s.speech]) });
    reset();
  });
  return { state: s, outputs };
}
