import { z } from 'zod';
import { synthesizeOverHttp, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export const fishApiSchema = z.looseObject({
  api_key: z.string().default(''),
  reference_id: z.string().default('7f92f8afb8ec43bf81429cc1c9199cb1'),
  latency: z.enum(['normal', 'balanced']).default('balanced'),
  base_url: httpUrl('https://api.fish.audio'),
});

/**
 * Fish Audio's `POST /v1/tts` (Bearer key, JSON body) with the request upstream's SDK sends: `text`,
 * `reference_id`, `latency`, MP3 at 128 kbit/s. The answer is the audio itself, chunked.
 */
export function fishApiTtsEngine(c: z.output<typeof fishApiSchema>, options: HttpEngineOptions = {}): TtsEngine {
  const url = `${c.base_url.replace(/\/+$/, '')}/v1/tts`;
  return {
    provider: 'fish_api_tts',
    synthesize: (text, signal) =>
      synthesizeOverHttp(
        'fish_api_tts',
        {
          url,
          headers: { authorization: `Bearer ${c.api_key}` },
          json: {
            text,
            ...(c.reference_id ? { reference_id: c.reference_id } : {}),
            latency: c.latency,
            format: 'mp3',
            mp3_bitrate: 128,
            chunk_length: 200,
            normalize: true,
          },
        },
        signal,
        { timeoutMs: options.timeoutMs },
      ),
  };
}
