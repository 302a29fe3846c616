import path from 'node:path';
import { z } from 'zod';
import { sherpaOnnxTtsSchema, type SherpaOnnxTtsConfig } from '../../config/sherpa-onnx-schema.js';
import { ProviderConfigError } from '../provider-registry.js';

/**
 * Upstream's `piper_tts` runs Piper's own .onnx voice; sherpa-onnx publishes each Piper voice converted for it
 * (`vits-piper-<voice>/`: the voice with sherpa's metadata, tokens.txt, espeak-ng-data/). The voice is found by
 * the file name upstream was given (`models/piper/zh_CN-huayan-medium.onnx` → `vits-piper-zh_CN-huayan-medium`), and
 * Piper's settings carry over: speaker_id, length_scale, noise_scale, noise_w, volume, normalize_audio.
 */
export const piperTtsSchema = z.looseObject({
  model_path: z.string().min(1).default('models/piper/zh_CN-huayan-medium.onnx'),
  speaker_id: z.number().int().min(0).default(0),
  length_scale: z.number().positive().default(1.0),
  noise_scale: z.number().min(0).default(0.667),
  noise_w: z.number().min(0).default(0.8),
  volume: z.number().min(0).default(1.0),
  normalize_audio: z.boolean().default(true),
  use_cuda: z.boolean().default(false),
});

/** Piper's voice names: `<lang>_<REGION>-<name>-<quality>` (e.g. en_US-amy-low, zh_CN-huayan-medium). */
const PIPER_VOICE = /^[a-z]{2,3}_[A-Z]{2}-[\w]+-(x_low|low|medium|high)$/;

/** The sherpa-onnx block serving a Piper block; a file not named like a Piper voice is refused with its key. */
export function piperToSherpa(c: z.output<typeof piperTtsSchema>): { config: SherpaOnnxTtsConfig; note: string } {
  const voice = path.basename(c.model_path).replace(/\.onnx(\.json)?$/, '');
  if (!PIPER_VOICE.test(voice)) {
    throw new ProviderConfigError('model_path', `"${c.model_path}" is not named like a Piper voice (<lang>_<REGION>-<name>-<quality>.onnx, e.g. en_US-amy-low.onnx)`);
  }
  const folder = `./models/vits-piper-${voice}`;
  const config = sherpaOnnxTtsSchema.parse({
    vits_model: `${folder}/${voice}.onnx`,
    vits_tokens: `${folder}/tokens.txt`,
    vits_data_dir: `${folder}/espeak-ng-data`,
    sid: c.speaker_id,
    vits_length_scale: c.length_scale,
    vits_noise_scale: c.noise_scale,
    vits_noise_scale_w: c.noise_w,
    volume: c.volume,
    normalize_audio: c.normalize_audio,
  });
  const unused = c.use_cuda ? '; use_cuda is not used here (the voice runs on the CPU)' : '';
  return { config, note: `piper_tts is served by sherpa-onnx's conversion of the Piper voice ${voice} (${folder})${unused}` };
}

export const mapPiperTts = (block: unknown) => piperToSherpa(piperTtsSchema.parse(block ?? {}));
