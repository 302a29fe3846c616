import path from 'node:path';
import { z } from 'zod';
import { modelArchiveUrl, releasesBaseUrl } from '../sherpa/model-download.js';
import { downloadableFolder, sharedSherpaHost, sherpaHostKey, type PreparableEngine } from '../sherpa/sherpa-hosts.js';
import type { SherpaModelSpec } from '../sherpa/sherpa-worker-host.js';
import type { TtsEngine } from './tts-engine.js';

const optionalPath = z.string().nullable().optional();

/** Per voice type, the keys naming its files; the first is the main model file (its folder is what is downloaded). */
const VOICE_FILES = {
  vits: ['vits_model', 'vits_tokens'],
  kokoro: ['kokoro_model', 'kokoro_voices', 'kokoro_tokens'],
  matcha: ['matcha_acoustic_model', 'matcha_vocoder', 'matcha_tokens'],
} as const;
type VoiceType = keyof typeof VOICE_FILES;

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
    for (const key of VOICE_FILES[c.model_type]) {
      if (!(c as Record<string, unknown>)[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required for model_type "${c.model_type}" (a file path)` });
      }
    }
  });

export type SherpaOnnxTtsConfig = z.infer<typeof sherpaOnnxTtsSchema>;

export function sherpaTtsSpec(c: SherpaOnnxTtsConfig, root: string): SherpaModelSpec {
  const at = (p: string | null | undefined) => (p ? path.resolve(root, p) : '');
  const type: VoiceType = c.model_type;
  const model =
    type === 'vits'
      ? { vits: { model: at(c.vits_model), lexicon: at(c.vits_lexicon), tokens: at(c.vits_tokens), dataDir: at(c.vits_data_dir), dictDir: at(c.vits_dict_dir) } }
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
  const files = VOICE_FILES[type].map((key) => ({ key, file: at((c as Record<string, unknown>)[key] as string) }));
  const folder = downloadableFolder(files[0]!.file);
  return {
    kind: 'tts',
    provider: 'sherpa_onnx_tts',
    config,
    files,
    download: folder ? { folder, url: modelArchiveUrl(releasesBaseUrl(c.download_base_url), 'tts-models', folder) } : undefined,
    maxQueued: c.max_queued,
  };
}

/** Float samples in [-1, 1] → 16-bit PCM (what the pipeline encodes as WAV). */
function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767);
  return out;
}

/** Local speech with sherpa-onnx (VITS/Piper, Kokoro, Matcha) on a worker thread shared by sessions using the voice. */
export function sherpaOnnxTts(c: SherpaOnnxTtsConfig, root: string): TtsEngine & PreparableEngine {
  const spec = sherpaTtsSpec(c, root);
  const key = sherpaHostKey(spec);
  return {
    provider: 'sherpa_onnx_tts',
    prepare: (log) => sharedSherpaHost(key, spec).prepare(log),
    async synthesize(text, signal) {
      const answer = await sharedSherpaHost(key, spec).run({ kind: 'tts', text, sid: c.sid, speed: c.speed }, signal);
      if (!('samples' in answer) || answer.samples.length === 0) return null;
      return { sampleRate: answer.sampleRate, channels: 1, samples: toInt16(answer.samples) };
    },
  };
}
