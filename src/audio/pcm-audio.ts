/** Decoded audio as every engine and codec here passes it (wav.ts reads and writes it). */
export interface PcmAudio {
  sampleRate: number;
  channels: number;
  /** Interleaved 16-bit samples. */
  samples: Int16Array;
}
