import { fromPromise } from 'xstate';
import type { SynthResult } from '../../../machines/tts-pipeline.machine.js';
import { durationMs, encodeWav, isSilent, sliceVolumes } from '../../audio/wav.js';
import type { Logger } from '../../observability/logger.js';
import type { SynthesizeInput } from '../../../machines/engine-contracts.js';

const SILENT: SynthResult = { audio: null, volumes: [], durationMs: 0 };

/**
 * The TTS pipeline's `synthesize` slot: one sentence → a canonical 16-bit WAV (base64) with its 20 ms volumes. Its
 * signal is passed to the engine, so a stopped turn aborts the request or kills the process. A failure is logged
 * and becomes a silent payload, as upstream does: the sentence is still shown; `error` carries what the engine
 * answered, for the turn's one error frame.
 */
export function createSynthesize(logger: Logger) {
  return fromPromise<SynthResult, SynthesizeInput>(async ({ input, signal }) => {
    const { engine } = input;
    try {
      const audio = await engine.synthesize(input.text, signal, { onRetry: (message) => logger.warn(message) });
      if (!audio || audio.samples.length === 0 || isSilent(audio)) return SILENT;
      return { audio: encodeWav(audio).toString('base64'), volumes: sliceVolumes(audio, 20), durationMs: durationMs(audio) };
    } catch (err) {
      if (signal.aborted) throw err;
      const message = (err as Error).message;
      logger.warn(`${engine.provider} could not speak "${input.text.slice(0, 40)}": ${message}`);
      return { ...SILENT, error: message.startsWith(engine.provider) ? message : `${engine.provider}: ${message}` };
    }
  });
}
