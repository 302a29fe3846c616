import { z } from 'zod';

/** Upstream's defaults. */
export const SILERO_VAD_DEFAULTS = { prob_threshold: 0.4, db_threshold: 60, required_hits: 3, required_misses: 24, smoothing_window: 5 } as const;
const D = SILERO_VAD_DEFAULTS;

/**
 * `vad_config.silero_vad`: upstream's keys with upstream's defaults, and `model_path` (this server's: the Silero
 * model file; without it the web client's copy in `frontend/libs/` is used). Audio is 16 kHz by the protocol, so
 * `orig_sr` is accepted and ignored as upstream ignores it, and `target_sr` (the rate the model runs at) can only be
 * 16000 here. A block left out gets every default, so `vad_model: silero_vad` alone turns detection on.
 */
export const sileroVadSchema = z.object({
  orig_sr: z.number().positive().default(16000),
  target_sr: z.literal(16000).default(16000),
  /** A window is speech when Silero's probability, averaged over `smoothing_window` windows, reaches this… */
  prob_threshold: z.number().min(0).max(1).default(D.prob_threshold),
  /** …and its loudness, 20·log10 of the RMS of 16-bit samples, averaged the same way, reaches this. */
  db_threshold: z.number().default(D.db_threshold),
  /** Speech windows (32 ms each) in a row that start an utterance. */
  required_hits: z.number().int().positive().default(D.required_hits),
  /** Silent windows in a row that pause it; as many again end it. */
  required_misses: z.number().int().positive().default(D.required_misses),
  smoothing_window: z.number().int().positive().default(D.smoothing_window),
  model_path: z.string().min(1).optional(),
});

export type SileroVadConfig = z.infer<typeof sileroVadSchema>;
