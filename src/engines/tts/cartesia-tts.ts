import { z } from 'zod';
import { synthesizeOverHttp, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

/** The API version this request shape belongs to (sent as `Cartesia-Version`). */
export const CARTESIA_VERSION = '2025-04-16';

export const cartesiaSchema = z.looseObject({
  api_key: z.string().default(''),
  voice_id: z.string().min(1).default('6ccbfb76-1fc6-48f7-b71d-91ac6298247b'),
  model_id: z.string().min(1).default('sonic-3'),
  output_format: z.enum(['wav', 'mp3']).default('wav'),
  language: z.string().default('en'),
  emotion: z.string().default('neutral'),
  volume: z.number().default(1),
  speed: z.number().default(1),
  /** This server's own: another endpoint (a proxy, or a test server). */
  base_url: httpUrl('https://api.cartesia.ai'),
});

/** Cartesia's `POST /tts/bytes` with upstream's output formats (WAV of 32-bit floats at 44.1 kHz, or MP3). */
export function cartesiaTtsEngine(c: z.output<typeof cartesiaSchema>, options: HttpEngineOptions = {}): TtsEngine {
  const url = `${c.base_url.replace(/\/+$/, '')}/tts/bytes`;
  const outputFormat =
    c.output_format === 'wav'
      ? { container: 'wav', sample_rate: 44100, encoding: 'pcm_f32le' }
      : { container: 'mp3', sample_rate: 44100, bit_rate: 128000 };
  return {
    provider: 'cartesia_tts',
    synthesize: (text, signal) =>
      synthesizeOverHttp(
        'cartesia_tts',
        {
          url,
          headers: { 'x-api-key': c.api_key, 'cartesia-version': CARTESIA_VERSION },
          json: {
            model_id: c.model_id,
            transcript: text,
            voice: { mode: 'id', id: c.voice_id },
            output_format: outputFormat,
            language: c.language,
            generation_config: { volume: c.volume, speed: c.speed, emotion: c.emotion },
          },
        },
        signal,
        { timeoutMs: options.timeoutMs },
      ),
  };
}
