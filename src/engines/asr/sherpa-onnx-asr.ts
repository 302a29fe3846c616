import path from 'node:path';
import { SHERPA_ASR_MODEL_FILES, type SherpaAsrModelType, type SherpaOnnxAsrConfig } from '../../config/sherpa-onnx-schema.js';
import { modelArchiveUrl, releasesBaseUrl } from '../sherpa/model-download.js';
import { downloadableFolder, sharedSherpaHost, sherpaHostKey, type PreparableEngine } from '../sherpa/sherpa-hosts.js';
import type { SherpaModelSpec } from '../sherpa/sherpa-worker-host.js';
import { ASR_SAMPLE_RATE } from './asr-engine.js';
import type { AsrEngine } from '../../../machines/engine-contracts.js';

/** The sherpa-onnx-node recogniser config and the files it needs, paths resolved against `root`. */
export function sherpaAsrSpec(c: SherpaOnnxAsrConfig, root: string, provider = 'sherpa_onnx_asr'): SherpaModelSpec {
  const at = (p: string | null | undefined) => (p ? path.resolve(root, p) : '');
  const keys = SHERPA_ASR_MODEL_FILES[c.model_type];
  const file = (key: string) => at((c as Record<string, unknown>)[key] as string);
  const models: Record<SherpaAsrModelType, () => Record<string, unknown>> = {
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
    provider,
    config,
    files,
    download: folder ? { folder, url: modelArchiveUrl(releasesBaseUrl(c.download_base_url), 'asr-models', folder) } : undefined,
    maxQueued: c.max_queued,
  };
}

/**
 * Local recognition with sherpa-onnx on a worker thread shared by the sessions that use the same model. `provider`
 * is the name the configuration used (an upstream engine it serves, e.g. faster_whisper), for messages.
 */
export function sherpaOnnxAsr(c: SherpaOnnxAsrConfig, root: string, provider = 'sherpa_onnx_asr'): AsrEngine & PreparableEngine {
  const spec = sherpaAsrSpec(c, root, provider);
  const key = sherpaHostKey(spec);
  return {
    provider,
    modelFiles: spec.files.map((f) => f.file),
    prepare: (log) => sharedSherpaHost(key, spec).prepare(log),
    async transcribe(samples, signal) {
      const answer = await sharedSherpaHost(key, spec).run({ kind: 'asr', samples, sampleRate: ASR_SAMPLE_RATE }, signal);
      return 'text' in answer ? answer.text.trim() : '';
    },
  };
}
