import { existsSync } from 'node:fs';
import path from 'node:path';
import { fromCallback, type EventObject } from 'xstate';
import {
  VAD_WINDOW,
  type SpeechProbabilityCommand,
  type SpeechProbabilityEvent,
  type SpeechProbabilityInput,
} from '../../../machines/voice-detection-contract.js';
import { ASR_SAMPLE_RATE } from '../../../machines/engine-contracts.js';
import { sharedSherpaHost, sherpaHostKey } from '../sherpa/sherpa-hosts.js';
import type { SherpaModelSpec } from '../sherpa/sherpa-worker-host.js';

/**
 * The voice detector's judging slot: Silero VAD in sherpa-onnx, on a worker thread shared by every session that
 * uses the same model file and threshold (one thread, one detector state per session's stream).
 *
 * sherpa-onnx gives Silero's verdict for a window (its probability against `prob_threshold`), not the probability
 * itself, so the slot answers 1 or 0 per window; upstream's smoothing then averages verdicts instead of
 * probabilities. The threshold is sherpa's (a window is speech above it; once speech, until 0.15 below it).
 */

/** Where the Silero model is: `vad_config.silero_vad.model_path` (relative to the working directory), else the web client's copy. */
export function sileroModelFile(modelPath: string | null, dirs: { root: string; frontend: string }): { file: string } | { error: string } {
  if (modelPath) {
    const file = path.resolve(dirs.root, modelPath);
    return existsSync(file) ? { file } : { error: `silero_vad: vad_config.silero_vad.model_path names ${file}, which does not exist` };
  }
  const file = path.join(dirs.frontend, 'libs', 'silero_vad_v5.onnx');
  if (existsSync(file)) return { file };
  return {
    error: `silero_vad: no Silero model: vad_config.silero_vad.model_path is not set and the web client's copy ${file} does not exist (the first start fetches the web client into frontend/)`,
  };
}

/** The shared host's model: each window is judged alone (no minimum speech or silence: the detector counts those). */
export function sileroVadSpec(file: string, threshold: number): SherpaModelSpec {
  return {
    kind: 'vad',
    provider: 'silero_vad',
    config: {
      // sherpa-onnx reads 0 as "its default" (0.25 s, 0.5 s), so the durations are a hair above 0: no samples.
      sileroVad: { model: file, threshold, minSilenceDuration: 1e-6, minSpeechDuration: 1e-6, windowSize: VAD_WINDOW, maxSpeechDuration: 3600 },
      sampleRate: ASR_SAMPLE_RATE,
      numThreads: 1,
      debug: 0,
    },
    files: [{ key: 'vad_config.silero_vad.model_path', file }],
    // One batch in flight per session at most: this bounds the sessions detecting speech at once.
    maxQueued: 256,
  };
}

/** The `speechProbability` slot: one stream per session, released when the session's detector stops. */
export function createSpeechProbability(dirs: { root: string; frontend: string }) {
  return fromCallback<SpeechProbabilityCommand, SpeechProbabilityInput, EventObject>(({ input, receive, sendBack }) => {
    const lifetime = new AbortController();
    const model = sileroModelFile(input.modelPath, dirs);
    const spec = 'file' in model ? sileroVadSpec(model.file, input.threshold) : undefined;
    const host = spec ? sharedSherpaHost(sherpaHostKey(spec), spec) : undefined;
    const stream = host?.openStream();
    const tell = (event: SpeechProbabilityEvent) => {
      if (!lifetime.signal.aborted) sendBack(event);
    };
    receive((command) => {
      if (!host || stream === undefined) return tell({ type: 'probability.failed', message: 'error' in model ? model.error : 'silero_vad: no model' });
      host.run({ kind: 'vad', stream, windows: command.windows }, lifetime.signal).then(
        (answer) =>
          tell('speech' in answer ? { type: 'probability.result', probs: Array.from(answer.speech) } : { type: 'probability.failed', message: 'silero_vad: not a detector' }),
        (err: Error) => tell({ type: 'probability.failed', message: err.message }),
      );
    });
    return () => {
      lifetime.abort(new Error('voice detection stopped'));
      if (host && stream !== undefined) host.releaseStream(stream);
    };
  });
}
