import path from 'node:path';
import { SHERPA_TTS_VOICE_FILES, type SherpaOnnxTtsConfig, type SherpaTtsVoiceType } from '../../config/sherpa-onnx-schema.js';
import { modelArchiveUrl, releasesBaseUrl } from '../sherpa/model-download.js';
import { downloadableFolder, sharedSherpaHost, sherpaHostKey, type PreparableEngine } from '../sherpa/sherpa-hosts.js';
import type { SherpaModelSpec } from '../sherpa/sherpa-worker-host.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';


export function sherpaTtsSpec(c: SherpaOnnxTtsConfig, root: string, provider = 'sherpa_onnx_tts'): SherpaModelSpec {
  const at = (p: string | null | undefined) => (p ? path.resolve(root, p) : '');
  const type: SherpaTtsVoiceType = c.model_type;
  const model =
    type === 'vits'
      ? {
          vits: {
            model: at(c.vits_model),
            lexicon: at(c.vits_lexicon),
            tokens: at(c.vits_tokens),
            dataDir: at(c.vits_data_dir),
            dictDir: at(c.vits_dict_dir),
            ...(c.vits_length_scale === undefined ? {} : { lengthScale: c.vits_length_scale }),
            ...(c.vits_noise_scale === undefined ? {} : { noiseScale: c.vits_noise_scale }),
            ...(c.vits_noise_scale_w === undefined ? {} : { noiseScaleW: c.vits_noise_scale_w }),
          },
        }
      : type === 'kokoro'
        ? {
            kokoro: {
              model: at(c.kokoro_model),
              voices: at(c.kokoro_voices),
              tokens: at(c.kokoro_tokens),
              dataDir: at(c.kokoro_data_dir),
              lexicon: at(c.kokoro_lexicon),
              ...(c.kokoro_lang ? { lang: c.kokoro_lang } : {}),
            },
          }
        : {
            matcha: {
              acousticModel: at(c.matcha_acoustic_model),
              vocoder: at(c.matcha_vocoder),
              tokens: at(c.matcha_tokens),
              lexicon: at(c.matcha_lexicon),
              dataDir: at(c.matcha_data_dir),
            },
          };
  const config = {
    model: { ...model, numThreads: c.num_threads, provider: 'cpu', debug: c.debug ? 1 : 0 },
    maxNumSentences: c.max_num_sentences,
    ruleFsts: (c.tts_rule_fsts ?? '')
      .split(',')
      .filter((f) => f.trim())
      .map((f) => at(f.trim()))
      .join(','),
  };
  const files = SHERPA_TTS_VOICE_FILES[type].map((key) => ({ key, file: at((c as Record<string, unknown>)[key] as string) }));
  const folder = downloadableFolder(files[0]!.file);
  return {
    kind: 'tts',
    provider,
    config,
    files,
    download: folder ? { folder, url: modelArchiveUrl(releasesBaseUrl(c.download_base_url), 'tts-models', folder) } : undefined,
    maxQueued: c.max_queued,
  };
}

/** Float samples in [-1, 1] → 16-bit PCM (what the pipeline encodes as WAV), scaled by `gain` (after normalising). */
function toInt16(samples: Float32Array, gain: number, normalize: boolean): Int16Array {
  let peak = 0;
  if (normalize) for (const s of samples) peak = Math.max(peak, Math.abs(s));
  const scale = gain * (normalize && peak > 0 ? 1 / peak : 1);
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.round(Math.max(-1, Math.min(1, samples[i]! * scale)) * 32767);
  return out;
}

/**
 * Local speech with sherpa-onnx (VITS/Piper, Kokoro, Matcha) on a worker thread shared by sessions using the voice.
 * `provider` is the name the configuration used (piper_tts for a Piper voice it serves), for messages.
 */
export function sherpaOnnxTts(c: SherpaOnnxTtsConfig, root: string, provider = 'sherpa_onnx_tts'): TtsEngine & PreparableEngine {
  const spec = sherpaTtsSpec(c, root, provider);
  const key = sherpaHostKey(spec);
  return {
    provider,
    modelFiles: spec.files.map((f) => f.file),
    prepare: (log) => sharedSherpaHost(key, spec).prepare(log),
    async synthesize(text, signal) {
      const answer = await sharedSherpaHost(key, spec).run({ kind: 'tts', text, sid: c.sid, speed: c.speed }, signal);
      if (!('samples' in answer) || answer.samples.length === 0) return null;
      return { sampleRate: answer.sampleRate, channels: 1, samples: toInt16(answer.samples, c.volume, c.normalize_audio) };
    },
  };
}
