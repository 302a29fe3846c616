import { ASR_SAMPLE_RATE } from '../../machines/engine-contracts.js';
import { resample, toMonoFloat } from '../audio/resample.js';
import { decodeWav } from '../audio/wav.js';

/**
 * The recording of a `POST /asr`, read from its WAV header (not from a fixed 44-byte offset, and not assumed to be
 * 16 kHz): integer PCM of 8, 16, 24 or 32 bits or 32-bit float, any number of channels (mixed down), any sample rate
 * (resampled to the recogniser's 16 kHz). What cannot be read is refused with what to send instead.
 */

export type RecordingUpload =
  | { ok: true; samples: Float32Array; sampleRate: number; channels: number }
  | { ok: false; message: string };

const WHAT_TO_SEND = 'Send a WAV recording: 16-bit PCM, mono or stereo, any sample rate (16 kHz is what the recogniser hears).';

const refuse = (problem: string): RecordingUpload => ({ ok: false, message: `${problem} ${WHAT_TO_SEND}` });

export function readRecordingUpload(bytes: Buffer): RecordingUpload {
  if (bytes.length === 0) return refuse('The file is empty.');
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    return refuse('The file is not a WAV file (it does not start with a RIFF/WAVE header).');
  }
  let audio;
  try {
    audio = decodeWav(bytes);
  } catch (err) {
    return refuse(`The WAV file cannot be read: ${(err as Error).message}.`);
  }
  if (audio.channels < 1) return refuse('The WAV header gives 0 channels.');
  if (!Number.isFinite(audio.sampleRate) || audio.sampleRate < 1000 || audio.sampleRate > 384_000) {
    return refuse(`The WAV header gives a sample rate of ${audio.sampleRate} Hz, which is not a recording's.`);
  }
  if (audio.samples.length < audio.channels) return refuse('The WAV file holds no audio (its data chunk is empty).');
  const samples = resample(toMonoFloat(audio), audio.sampleRate, ASR_SAMPLE_RATE);
  return { ok: true, samples, sampleRate: audio.sampleRate, channels: audio.channels };
}
