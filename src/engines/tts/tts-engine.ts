import type { TtsEngine } from '../../../machines/engine-contracts.js';

/** The engine that says nothing: every sentence a silent payload (the contract, TtsEngine, is machines/engine-contracts.ts). */
export const silentEngine = (provider = 'silent_tts'): TtsEngine => ({
  provider,
  async synthesize() {
    return null;
  },
});

/**
 * A voice the configuration selects that cannot speak here (not built in this server, or its program is missing):
 * each reply's first sentence fails with `message` (one `tts` error frame naming the key; the rest is shown as text),
 * never another voice speaking instead.
 */
export const unavailableEngine = (provider: string, message: string): TtsEngine => ({
  provider,
  synthesize: () => Promise.reject(new Error(message)),
});
