import type { PcmAudio } from '../../audio/wav.js';
import type { EngineCallOptions } from '../http-retry.js';

/** A configured speech engine. `null` means "nothing to play" (a silent payload). Aborting stops the synthesis. */
export interface TtsEngine {
  readonly provider: string;
  /** `options.onRetry` hears of each retry of an HTTP engine's request (see http-retry.ts). */
  synthesize(text: string, signal: AbortSignal, options?: EngineCallOptions): Promise<PcmAudio | null>;
}

export const silentEngine = (provider = 'silent_tts'): TtsEngine => ({
  provider,
  async synthesize() {
    return null;
  },
});
