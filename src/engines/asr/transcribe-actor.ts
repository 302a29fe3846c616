import { fromPromise } from 'xstate';
import type { Logger } from '../../observability/logger.js';
import type { TranscribeInput } from '../../../machines/engine-contracts.js';

/** The turn's `transcribe` slot; its signal aborts the recognition request when the turn stops. */
export function createTranscribe(logger: Logger) {
  return fromPromise<string, TranscribeInput>(async ({ input, signal }) => {
    const { engine } = input;
    if (!engine) throw new Error(input.unavailable ?? 'no speech recognition engine is configured');
    const started = performance.now();
    const log = logger.child({ client_uid: input.clientUid });
    const text = await engine.transcribe(input.samples, signal, { onRetry: (message) => log.warn(message) });
    log.debug(`${engine.provider}: ${input.samples.length} samples in ${Math.round(performance.now() - started)} ms`);
    return text;
  });
}
