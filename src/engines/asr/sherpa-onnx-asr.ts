import path from 'node:path';
import { z } from 'zod';
import { modelArchiveUrl, releasesBaseUrl } from '../sherpa/model-download.js';
import { downloadableFolder, sharedSherpaHost, sherpaHostKey, type PreparableEngine } from '../sherpa/sherpa-hosts.js';
import type { SherpaModelSpec } from '../sherpa/sherpa-worker-host.js';
import { ASR_SAMPLE_RATE, type AsrEngine } from './asr-engine.js';

const MODEL_TYPES = ['transducer', 'paraformer', 'nemo_ctc', 'wenet_ctc', 'whisper', 'tdnn_ctc', 'sense_voice', 'fire_red_asr'] as const;
type ModelType = (typeof MODEL_TYPES)[number];

/** Per model type, the keys naming its files (upstream's check_model_paths), the first being the main model file. */
const MODEL_FILES: Record<ModelType, string[]> = {
  transducer: ['encoder', 'decoder', 'joiner'],
  paraformer: ['paraformer'],
  nemo_ctc: ['nemo_ctc'],
  wenet_ctc: ['wenet_ctc'],
  whisper: ['whisper_encoder', 'whisper_decoder'],
  tdnn_ctc: ['tdnn_model'],
  sense_voice: ['sense_voice'],
  fire_red_asr: ['fire_red_asr_encoder', 'fire_red_asr_decoder'],
};

const optionalPath = z.string().nullable().optional();

/** Upstream's `sherpa_onnx_asr` block (config_manager/asr.py and the recogniser's own arguments), plus two of ours. */
export const sherpaOnnxAsrSchema = z
  .looseObject({
    model_type: z.enum(MODEL_TYPES),
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
    sample_rate: z.number().int().positive().default(ASR_SAMPLE_RATE),
    feature_dim: z.number().int().positive().default(80),
    // --- this server's own ---
    /** Where missing model folders are downloaded from (default: sherpa-onnx's GitHub releases; env SHERPA_ONNX_RELEASES_URL). */
    download_base_url: z.string().optional(),
    /** Recognitions waiting for the model at once, over all sessions; more are refused with an error. */
    max_queued: z.number().int().min(1).default(8),
  })
  .superRefine((c, ctx) => {
    for (const key of MODEL_FILES[c.model_type]) {
      if (!(c as Record<string, unknown>)[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required for model_type "${c.model_type}" (the path of its .onnx file)` });
      }
    }
  });

export type SherpaOnnxAsrConfig = z.infer<typeof sherpaOnnxAsrSchema>;

/** The sherpa-onnx-node recogniser config and the files it needs, paths resolved against `root`. */
export function sherpaAsrSpec(c: SherpaOnnxAsrConfig, root: string): SherpaModelSpec {
  const at = (p: string | null | undefined) => (p ? path.resolve(root, p) : '');
  const keys = MODEL_FILES[c.model_type];
  const file = (key: string) => at((c as Record<string, unknown>)[key] as string);
  const models: Record<ModelType, () => Record<string, unknown>> = {
    transducer: () => ({ transducer: { encoder: file('encoder'), decoder: file('decoder'), joiner: file('joiner') } }),
    paraformer: () => ({ paraformer: { model: file('paraformer') } }),
    nemo_ctc: () => ({ nemoCtc: { model: file('nemo_ctc') } }),
    wenet_ctc: () => ({ wenetCtc: { model: file('wenet_ctc') } }),
    whisper: () => ({
      whisper: { encoder: file('whisper_encoder'), decoder: file('whisper_decoder'), language: c.whisper_language, task: c.whisper_task, tailPaddings: c.whisper_tail_paddings },
    }),
    tdnn_ctc: () => ({ tdnn: { model: file('tdnn_model') } }),
    sense_voice: () => ({ senseVoice: { model: file('sense_voice'), useInverseTextNormalization: c.use_itn ? 1 : 0 } }),
    fire_red_asr: () => ({ fireRedAsr: { encoder: file('fire_red_asr_encoder'), decoder: file('fire_red_asr_decoder') } }),
  };
  const config = {
    featConfig: { sampleRate: c.sample_rate, featureDim: c.feature_dim },
    modelConfig: {
      ...models[c.model_type](),
      tokens: at(c.tokens),
      numThreads: c.num_threads,
      // The npm binaries are CPU builds; upstream too falls back to the CPU when CUDA is not there.
      provider: 'cpu',
      debug: c.debug ? 1 : 0,
      modelingUnit: c.modeling_unit,
      bpeVocab: at(c.bpe_vocab),
    },
    decodingMethod: c.decoding_method,
    hotwordsFile: at(c.hotwords_file),
    hotwordsScore: c.hotwords_score,
    blankPenalty: c.blank_penalty,
  };
  const files = [...keys.map((key) => ({ key, file: file(key) })), { key: 'tokens', file: at(c.tokens) }];
  const folder = downloadableFolder(files[0]!.file);
  return {
    kind: 'asr',
    provider: 'sherpa_onnx_asr',
    config,
    files,
    download: folder ? { folder, url: modelArchiveUrl(releasesBaseUrl(c.download_base_url), 'asr-models', folder) } : undefined,
    maxQueued: c.max_queued,
  };
}

/** Local recognition with sherpa-onnx on a worker thread shared by the sessions that use the same model. */
export function sherpaOnnxAsr(c: SherpaOnnxAsrConfig, root: string): AsrEngine & PreparableEngine {
  const spec = sherpaAsrSpec(c, root);
  const key = sherpaHostKey(spec);
  return {
    provider: 'sherpa_onnx_asr',
    prepare: (log) => sharedSherpaHost(key, spec).prepare(log),
    async transcribe(samples, signal) {
      const answer = await sharedSherpaHost(key, spec).run({ kind: 'asr', samples, sampleRate: ASR_SAMPLE_RATE }, signal);
      return 'text' in answer ? answer.text.trim() : '';
    },
  };
}
