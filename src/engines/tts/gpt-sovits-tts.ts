import { z } from 'zod';
import { synthesizeOverHttp, SpeechServiceError, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

/** Upstream's `gpt_sovits_tts` block (its defaults). */
export const gptSovitsSchema = z.looseObject({
  api_url: httpUrl('http://127.0.0.1:9880/tts'),
  text_lang: z.string().default('zh'),
  ref_audio_path: z.string().default(''),
  prompt_lang: z.string().default('zh'),
  prompt_text: z.string().default(''),
  text_split_method: z.string().default('cut5'),
  batch_size: z.union([z.string(), z.number()]).default('1'),
  media_type: z.string().default('wav'),
  streaming_mode: z.union([z.string(), z.boolean()]).default('false'),
  /** This server's own: the rate of `media_type: raw` answers (GPT-SoVITS v1/v2 models speak at 32 kHz). */
  raw_sample_rate: z.number().int().positive().default(32000),
});

/**
 * GPT-SoVITS's api_v2 `GET /tts` with the settings as query parameters, as upstream sends them. `[…]` tags are
 * taken out of the text first (upstream does the same). `wav` and `raw` can be played; `ogg` and `aac` cannot.
 */
export function gptSovitsTtsEngine(c: z.output<typeof gptSovitsSchema>, options: HttpEngineOptions = {}): TtsEngine {
  const media = c.media_type.toLowerCase();
  return {
    provider: 'gpt_sovits_tts',
    async synthesize(text, signal) {
      if (media !== 'wav' && media !== 'raw') {
        throw new SpeechServiceError(`gpt_sovits_tts: media_type "${c.media_type}" cannot be played here; use "wav" or "raw"`);
      }
      const url = new URL(c.api_url);
      const params: Record<string, string> = {
        text: text.replace(/\[.*?\]/g, ''),
        text_lang: c.text_lang,
        ref_audio_path: c.ref_audio_path,
        prompt_lang: c.prompt_lang,
        prompt_text: c.prompt_text,
        text_split_method: c.text_split_method,
        batch_size: String(c.batch_size),
        media_type: c.media_type,
        streaming_mode: String(c.streaming_mode),
      };
      for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
      return synthesizeOverHttp('gpt_sovits_tts', { url: url.toString(), method: 'GET' }, signal, {
        timeoutMs: options.timeoutMs,
        hint: media === 'raw' ? { pcmSampleRate: c.raw_sample_rate } : {},
      });
    },
  };
}
