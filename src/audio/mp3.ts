import { MPEGDecoder } from 'mpg123-decoder';
import type { PcmAudio } from './pcm-audio.js';

/**
 * MP3 → 16-bit PCM (mono: the first channel), with mpg123 compiled to WebAssembly (no ffmpeg needed). Edge's voices
 * are only served as MP3, and the client's lip-sync needs integer PCM WAV.
 */
export async function decodeMp3(bytes: Uint8Array): Promise<PcmAudio> {
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const { channelData, samplesDecoded, sampleRate } = decoder.decode(bytes);
    const first = channelData[0] ?? new Float32Array();
    const samples = new Int16Array(samplesDecoded);
    for (let i = 0; i < samplesDecoded; i++) samples[i] = Math.round(Math.max(-1, Math.min(1, first[i] ?? 0)) * 32767);
    return { sampleRate: sampleRate || 24000, channels: 1, samples };
  } finally {
    decoder.free();
  }
}
