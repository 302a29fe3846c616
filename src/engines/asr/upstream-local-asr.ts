import { z } from 'zod';
import { sherpaOnnxAsrSchema, type SherpaOnnxAsrConfig } from '../../config/sherpa-onnx-schema.js';
import { ProviderConfigError } from '../provider-registry.js';

/**
 * Upstream's local recognisers (faster-whisper, openai-whisper, whisper.cpp, FunASR) are Python or C++ programs this
 * server does not run; the same models exist as sherpa-onnx exports, which it does run. These functions turn
 * upstream's blocks into the `sherpa_onnx_asr` block that serves the same model, plus one line saying so (logged once).
 * Folders follow sherpa-onnx's release names under `./models/`, so a missing one is downloaded like any sherpa model.
 */

export interface MappedAsr {
  config: SherpaOnnxAsrConfig;
  /** "faster_whisper → sherpa-onnx Whisper turbo (./models/sherpa-onnx-whisper-turbo)"; keys it does not use. */
  note: string;
}

/** Whisper sizes sherpa-onnx publishes, by the name its files carry (`<name>-encoder.int8.onnx`). */
const WHISPER_SIZES = new Set([
  'tiny', 'tiny.en', 'base', 'base.en', 'small', 'small.en', 'medium', 'medium.en',
  'large-v1', 'large-v2', 'large-v3', 'turbo', 'distil-small.en', 'distil-medium.en', 'distil-large-v2',
]);

/** Upstream spellings of a size: `large-v3-turbo`, `Systran/faster-whisper-small`, `ggml-base.en.bin`, `large`. */
export function whisperSize(name: string): string | undefined {
  let n = name.trim().split('/').pop()!.toLowerCase();
  n = n.replace(/^faster-whisper-|^faster-distil-whisper-|^ggml-|^whisper-/, '').replace(/\.bin$|\.pt$/, '').replace(/-q\d.*$/, '');
  if (n.startsWith('distil-whisper-')) n = `distil-${n.slice('distil-whisper-'.length)}`;
  if (n === 'large-v3-turbo' || n === 'turbo') return 'turbo';
  if (n === 'large') return 'large-v3';
  return WHISPER_SIZES.has(n) ? n : undefined;
}

const modelsDir = './models';

function whisperConfig(size: string, language: string | null | undefined, threads?: number): SherpaOnnxAsrConfig {
  const folder = `${modelsDir}/sherpa-onnx-whisper-${size}`;
  return sherpaOnnxAsrSchema.parse({
    model_type: 'whisper',
    whisper_encoder: `${folder}/${size}-encoder.int8.onnx`,
    whisper_decoder: `${folder}/${size}-decoder.int8.onnx`,
    tokens: `${folder}/${size}-tokens.txt`,
    whisper_language: language && language !== 'auto' ? language : '',
    ...(threads ? { num_threads: threads } : {}),
  });
}

const SENSE_VOICE_FOLDER = `${modelsDir}/sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17`;
const PARAFORMER_ZH_FOLDER = `${modelsDir}/sherpa-onnx-paraformer-zh-2024-03-09`;

const fasterWhisperSchema = z.looseObject({ model_path: z.string().min(1), language: z.string().nullable().optional(), prompt: z.string().nullable().optional() });
const whisperCppSchema = z.looseObject({ model_name: z.string().min(1), language: z.string().nullable().optional(), prompt: z.string().nullable().optional() });
const whisperSchema = z.looseObject({ name: z.string().min(1), prompt: z.string().nullable().optional() });
const funAsrSchema = z.looseObject({
  model_name: z.string().default('iic/SenseVoiceSmall'),
  ncpu: z.number().int().min(1).optional(),
  use_itn: z.boolean().default(false),
  language: z.string().default('auto'),
});

function sizeOf(key: string, name: string): string {
  const size = whisperSize(name);
  if (!size) throw new ProviderConfigError(key, `"${name}" is not a Whisper size sherpa-onnx publishes (expected one of ${[...WHISPER_SIZES].join(', ')}, or large-v3-turbo)`);
  return size;
}

/** "faster_whisper is served by sherpa-onnx Whisper turbo (./models/…); not used here: device". */
function served(model: string, config: SherpaOnnxAsrConfig, what: string, block: object, unusedKeys: string[]): MappedAsr {
  const folder = (config.whisper_encoder ?? config.sense_voice ?? config.paraformer ?? '').replace(/\/[^/]+$/, '');
  const skipped = unusedKeys.filter((k) => k in block);
  return { config, note: `${model} is served by sherpa-onnx ${what} (${folder})${skipped.length > 0 ? `; not used here: ${skipped.join(', ')}` : ''}` };
}

const whisperServed = (model: string, key: string, name: string, language: string | null | undefined, block: object, unusedKeys: string[]) => {
  const size = sizeOf(key, name);
  return served(model, whisperConfig(size, language), `Whisper ${size}`, block, unusedKeys);
};

/**
 * Upstream's local recognisers by their `asr_model` name: the schema of upstream's block and the sherpa-onnx block
 * serving the same model (keys with no meaning here are named in the note). A model with no equivalent is refused
 * with its key (ProviderConfigError).
 */
export const UPSTREAM_LOCAL_ASR = {
  faster_whisper: {
    schema: fasterWhisperSchema,
    map: (c: z.output<typeof fasterWhisperSchema>) =>
      whisperServed('faster_whisper', 'model_path', c.model_path, c.language, c, ['download_root', 'device', 'compute_type', ...(c.prompt ? ['prompt'] : [])]),
  },
  whisper_cpp: {
    schema: whisperCppSchema,
    map: (c: z.output<typeof whisperCppSchema>) =>
      whisperServed('whisper_cpp', 'model_name', c.model_name, c.language, c, ['model_dir', 'print_realtime', 'print_progress', ...(c.prompt ? ['prompt'] : [])]),
  },
  whisper: {
    schema: whisperSchema,
    map: (c: z.output<typeof whisperSchema>) => whisperServed('whisper', 'name', c.name, undefined, c, ['download_root', 'device', ...(c.prompt ? ['prompt'] : [])]),
  },
  fun_asr: {
    schema: funAsrSchema,
    map: (c: z.output<typeof funAsrSchema>): MappedAsr => {
      const name = c.model_name.split('/').pop()!.toLowerCase();
      const threads = c.ncpu ? { num_threads: c.ncpu } : {};
      const unusedKeys = ['vad_model', 'punc_model', 'device', 'disable_update', 'hub'];
      if (name === 'sensevoicesmall') {
        const config = sherpaOnnxAsrSchema.parse({ model_type: 'sense_voice', sense_voice: `${SENSE_VOICE_FOLDER}/model.int8.onnx`, tokens: `${SENSE_VOICE_FOLDER}/tokens.txt`, use_itn: c.use_itn, ...threads });
        return served('fun_asr', config, 'SenseVoice', c, unusedKeys);
      }
      if (name === 'paraformer-zh' || name.startsWith('speech_paraformer')) {
        const config = sherpaOnnxAsrSchema.parse({ model_type: 'paraformer', paraformer: `${PARAFORMER_ZH_FOLDER}/model.int8.onnx`, tokens: `${PARAFORMER_ZH_FOLDER}/tokens.txt`, ...threads });
        return served('fun_asr', config, 'Paraformer (zh)', c, unusedKeys);
      }
      throw new ProviderConfigError('model_name', `"${c.model_name}" has no sherpa-onnx equivalent here (expected iic/SenseVoiceSmall or paraformer-zh)`);
    },
  },
};

/** The sherpa-onnx block serving upstream's `model` block; undefined when `model` is not one of these names. */
export function mapUpstreamLocalAsr(model: string, block: unknown): MappedAsr | undefined {
  if (!Object.hasOwn(UPSTREAM_LOCAL_ASR, model)) return undefined;
  const upstream = UPSTREAM_LOCAL_ASR[model as keyof typeof UPSTREAM_LOCAL_ASR];
  return (upstream.map as (c: unknown) => MappedAsr)(upstream.schema.parse(block ?? {}));
}
