import type { TtsEngine } from '../../../machines/engine-contracts.js';

/** The engine that says nothing: every sentence a silent payload (the contract, TtsEngine, is machines/engine-contracts.ts). */
export const silentEngine = (provider = 'silent_tts'): TtsEngine => ({
  provider,
  async synthesize() {
    return null;
  },
});
