import { z } from 'zod';
import { synthesizeOverHttp, SpeechServiceError, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export const siliconflowSchema = z.looseObject({
  api_url: httpUrl('https://api.siliconflow.cn/v1/audio/speech'),
  api_key: z.string().default(''),
  default_model: z.string().min(1).default('FunAudioLLM/CosyVoice2-0.5B'),
  default_voice: z.string().default(''),
  sample_rate: z.number().int().positive().default(32000),
  response_format: z.string().default('mp3'),
  stream: z.boolean().default(true),
  speed: z.number().default(1),
  gain: z.number().default(0),
});

/** SiliconFlow's OpenAI-style `POST /v1/audio/speech` with upstream's body; `mp3`, `wav` and `pcm` can be played. */
export function siliconflowTtsEngine(c: z.output<typeof siliconflowSchema>, options: HttpEngineOptions = {}): TtsEngine {
  const format = c.response_format.toLowerCase();
  return {
    provider: 'siliconflow_tts',
    async synthesize(text, signal) {
      if (!['mp3', 'wav', 'pcm'].includes(format)) {
        throw new SpeechServiceError(`siliconflow_tts: response_format "${c.response_format}" cannot be played here; use mp3, wav or pcm`);
      }
      return synthesizeOverHttp(
        'siliconflow_tts',
        {
          url: c.api_url,
          headers: { authorization: `Bearer ${c.api_key}` },
          json: {
            input: text,
            response_format: c.response_format,
            sample_rate: c.sample_rate,
            stream: c.stream,
            speed: c.speed,
            gain: c.gain,
            model: c.default_model,
            voice: c.default_voice,
          },
        },
        signal,
        { timeoutMs: options.timeoutMs, hint: format === 'pcm' ? { pcmSampleRate: c.sample_rate } : {} },
      );
    },
  };
}
