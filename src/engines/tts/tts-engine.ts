import type { PcmAudio } from '../../audio/wav.js';

/** A configured speech engine. `null` means "nothing to play" (a silent payload). Aborting stops the synthesis. */
export interface TtsEngine {
  readonly provider: string;
  synthesize(text: string, signal: AbortSignal): Promise<PcmAudio | null>;
}

export const silentEngine = (provider = 'silent_tts'): TtsEngine => ({
  provider,
  async synthesize() {
    return null;
  },
});
