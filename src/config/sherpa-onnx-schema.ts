import { z } from 'zod';

/**
 * The `sherpa_onnx_asr` and `sherpa_onnx_tts` blocks of conf.yaml (upstream's keys, config_manager/asr.py and
 * tts.py, plus a few of ours), validated when present like upstream does, so an error carries file, key and line.
 */

const optionalPath = z.string().nullable().optional();

export const SHERPA_ASR_MODEL_TYPES = ['transducer', 'paraformer', 'nemo_ctc', 'wenet_ctc', 'whisper', 'tdnn_ctc', 'sense_voice', 'fire_red_asr'] as const;
export type SherpaAsrModelType = (typeof SHERPA_ASR_MODEL_TYPES)[number];

/** Per model type, the keys naming its files (upstream's check_model_paths), the first being the main model file. */
export const SHERPA_ASR_MODEL_FILES: Record<SherpaAsrModelType, string[]> = {
  transducer: ['encoder', 'decoder', 'joiner'],
  paraformer: ['paraformer'],
  nemo_ctc: ['nemo_ctc'],
  wenet_ctc: ['wenet_ctc'],
  whisper: ['whisper_encoder', 'whisper_decoder'],
  tdnn_ctc: ['tdnn_model'],
  sense_voice: ['sense_voice'],
  fire_red_asr: ['fire_red_asr_encoder', 'fire_red_asr_decoder'],
};

/** Upstream's `sherpa_onnx_asr` block (config_manager/asr.py and the recogniser's own arguments), plus two of ours. */
export const sherpaOnnxAsrSchema = z
  .looseObject({
    model_type: z.enum(SHERPA_ASR_MODEL_TYPES),
    encoder: optionalPath,
    decoder: optionalPath,
    joiner: optionalPath,
    paraformer: optionalPath,
    nemo_ctc: optionalPath,
    wenet_ctc: optionalPath,
    tdnn_model: optionalPath,
    whisper_encoder: optionalPath,
    whisper_decoder: optionalPath,
    sense_voice: optionalPath,
    fire_red_asr_encoder: optionalPath,
    fire_red_asr_decoder: optionalPath,
    tokens: z.string().min(1),
    num_threads: z.number().int().min(1).default(4),
    use_itn: z.boolean().default(true),
    provider: z.enum(['cpu', 'cuda', 'rocm']).default('cpu'),
    hotwords_file: z.string().default(''),
    hotwords_score: z.number().default(1.5),
    modeling_unit: z.string().default(''),
    bpe_vocab: z.string().default(''),
    whisper_language: z.string().default(''),
    whisper_task: z.enum(['transcribe', 'translate']).default('transcribe'),
    whisper_tail_paddings: z.number().int().default(-1),
    blank_penalty: z.number().default(0),
    decoding_method: z.enum(['greedy_search', 'modified_beam_search']).default('greedy_search'),
    debug: z.boolean().default(false),
    sample_rate: z.number().int().positive().default(16000),
    feature_dim: z.number().int().positive().default(80),
    // --- this server's own ---
    /** Where missing model folders are downloaded from (default: sherpa-onnx's GitHub releases; env SHERPA_ONNX_RELEASES_URL). */
    download_base_url: z.string().optional(),
    /** Recognitions waiting for the model at once, over all sessions; more are refused with an error. */
    max_queued: z.number().int().min(1).default(8),
  })
  .superRefine((c, ctx) => {
    for (const key of SHERPA_ASR_MODEL_FILES[c.model_type]) {
      if (!(c as Record<string, unknown>)[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required for model_type "${c.model_type}" (the path of its .onnx file)` });
      }
    }
  });

export type SherpaOnnxAsrConfig = z.infer<typeof sherpaOnnxAsrSchema>;

/** Per voice type, the keys naming its files; the first is the main model file (its folder is what is downloaded). */
export const SHERPA_TTS_VOICE_FILES = {
  vits: ['vits_model', 'vits_tokens'],
  kokoro: ['kokoro_model', 'kokoro_voices', 'kokoro_tokens'],
  matcha: ['matcha_acoustic_model', 'matcha_vocoder', 'matcha_tokens'],
} as const;
export type SherpaTtsVoiceType = keyof typeof SHERPA_TTS_VOICE_FILES;

/**
 * Upstream's `sherpa_onnx_tts` block (config_manager/tts.py: VITS, which also covers Piper voices), plus keys of ours
 * for the Kokoro and Matcha voices the same library speaks (`model_type`, `kokoro_*`, `matcha_*`).
 */
export const sherpaOnnxTtsSchema = z
  .looseObject({
    vits_model: optionalPath,
    vits_lexicon: optionalPath,
    vits_tokens: optionalPath,
    vits_data_dir: optionalPath,
    vits_dict_dir: optionalPath,
    tts_rule_fsts: optionalPath,
    max_num_sentences: z.number().int().default(2),
    sid: z.number().int().min(0).default(1),
    provider: z.enum(['cpu', 'cuda', 'coreml']).default('cpu'),
    num_threads: z.number().int().min(1).default(1),
    speed: z.number().positive().default(1.0),
    debug: z.boolean().default(false),
    // --- this server's own ---
    /** VITS/Piper voice settings (Piper's length_scale, noise_scale, noise_w); unset: the voice's own. */
    vits_length_scale: z.number().positive().optional(),
    vits_noise_scale: z.number().min(0).optional(),
    vits_noise_scale_w: z.number().min(0).optional(),
    /** Loudness factor applied to the voice; normalize_audio scales each sentence to full scale first (Piper's keys). */
    volume: z.number().min(0).default(1),
    normalize_audio: z.boolean().default(false),
    model_type: z.enum(['vits', 'kokoro', 'matcha']).default('vits'),
    kokoro_model: optionalPath,
    kokoro_voices: optionalPath,
    kokoro_tokens: optionalPath,
    kokoro_data_dir: optionalPath,
    kokoro_lexicon: optionalPath,
    kokoro_lang: z.string().optional(),
    matcha_acoustic_model: optionalPath,
    matcha_vocoder: optionalPath,
    matcha_tokens: optionalPath,
    matcha_lexicon: optionalPath,
    matcha_data_dir: optionalPath,
    /** Where missing voice folders are downloaded from (default: sherpa-onnx's GitHub releases; env SHERPA_ONNX_RELEASES_URL). */
    download_base_url: z.string().optional(),
    /** Sentences waiting for the voice at once, over all sessions; more are refused (and shown without speech). */
    max_queued: z.number().int().min(1).default(16),
  })
  .superRefine((c, ctx) => {
    for (const key of SHERPA_TTS_VOICE_FILES[c.model_type]) {
      if (!(c as Record<string, unknown>)[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required for model_type "${c.model_type}" (a file path)` });
      }
    }
  });

export type SherpaOnnxTtsConfig = z.infer<typeof sherpaOnnxTtsSchema>;
