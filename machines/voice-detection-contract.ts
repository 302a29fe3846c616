/**
 * The contracts of server-side voice detection (voice-detection.machine.ts): what the session gives it, what it tells
 * the session, and the slot that judges windows of audio (Silero, run off the event loop by src/engines/vad/).
 */

/** Samples in one window the detector judges: 32 ms at 16 kHz, as upstream's Silero detector. */
export const VAD_WINDOW = 512;

/** Windows of quiet kept before a detected start, so an utterance starts before its first loud window (upstream: 20). */
export const VAD_PRE_ROLL_WINDOWS = 20;

/** Windows an utterance needs beyond its start to be kept (upstream's: more than 30 windows, about a second). */
export const VAD_MIN_UTTERANCE_WINDOWS = 30;

/** Audio waiting to be judged at most (10 s at 16 kHz): a detector that falls this far behind drops it. */
export const VAD_MAX_BACKLOG_SAMPLES = 160_000;

/** Upstream's `vad_config.silero_vad` keys, as the detector uses them. */
export interface VoiceDetectionSettings {
  /** A window is a hit when its smoothed speech probability reaches this… */
  probThreshold: number;
  /** …and its smoothed loudness (dB of 16-bit samples) reaches this. */
  dbThreshold: number;
  /** Hits in a row that start speech (and resume it after a pause). */
  requiredHits: number;
  /** Misses in a row that pause speech; as many again end it. */
  requiredMisses: number;
  /** Windows the probability and the loudness are averaged over. */
  smoothingWindow: number;
}

export interface VoiceDetectionInput {
  settings: VoiceDetectionSettings;
  /** `vad_config.silero_vad.model_path` as written; null: the web client's copy (the slot resolves it). */
  modelPath: string | null;
  /** The longest utterance, in 16 kHz samples (system_config.mic_max_seconds): longer speech is dropped. */
  maxUtteranceSamples: number;
  /** The longest wait for one batch of windows to be judged (the first includes loading the model). */
  answerMs: number;
  /** After a failure, audio is ignored this long, then the model is tried again. */
  retryMs: number;
}

/** What the judging slot is started with: one stream of audio (its model state is this session's own). */
export interface SpeechProbabilityInput {
  modelPath: string | null;
  /** The slot's own speech threshold, where the engine needs one (Silero's verdict in sherpa-onnx). */
  threshold: number;
}

/** To the judging slot: consecutive windows of VAD_WINDOW samples each, in one array. */
export type SpeechProbabilityCommand = { type: 'probability.windows'; windows: Float32Array };

/** From the judging slot: one speech probability in [0, 1] per window sent, in order; or why it cannot judge. */
export type SpeechProbabilityEvent = { type: 'probability.result'; probs: number[] } | { type: 'probability.failed'; message: string };

/** To the detector: a `raw-audio-data` frame's samples (16 kHz mono, -1…1). */
export type VoiceDetectionEvent = { type: 'vad.audio'; samples: readonly number[] } | SpeechProbabilityEvent;

/** From the detector to its session. */
export type VoiceDetectionOutputEvent =
  /** Speech started (upstream sends `control: interrupt` then). */
  | { type: 'vad.speech-start' }
  /** Speech ended: the utterance with its pre-roll, 16 kHz, -1…1 (upstream sends `control: mic-audio-end` then). */
  | { type: 'vad.utterance'; samples: Float32Array }
  /** Audio dropped: an utterance longer than the bound, or a detector too far behind. */
  | { type: 'vad.dropped'; reason: 'too-long' | 'behind'; seconds: number }
  /** The judging slot failed (no model, a model that does not load, no answer in time). */
  | { type: 'vad.failed'; message: string };
