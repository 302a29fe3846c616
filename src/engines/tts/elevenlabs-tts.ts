import { z } from 'zod';
import { synthesizeOverHttp, SpeechServiceError, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export const elevenlabsSchema = z.looseObject({
  api_key: z.string().default(''),
  voice_id: z.string().default(''),
  model_id: z.string().min(1).default('eleven_multilingual_v2'),
  output_format: z.string().default('mp3_44100_128'),
  stability: z.number().default(0.5),
  similarity_boost: z.number().default(0.5),
  style: z.number().default(0),
  use_speaker_boost: z.boolean().default(true),
  /** This server's own: another endpoint (a proxy, or a test server). */
  base_url: httpUrl('https://api.elevenlabs.io'),
});

/**
 * ElevenLabs' `POST /v1/text-to-speech/{voice_id}?output_format=…` (`xi-api-key`), the call upstream's SDK makes.
 * `mp3_*` answers MP3, `pcm_<rate>` raw 16-bit PCM at that rate; other formats (µ-law, Opus) cannot be played.
 */
export function elevenlabsTtsEngine(c: z.output<typeof elevenlabsSchema>, options: HttpEngineOptions = {}): TtsEngine {
  const pcmRate = /^pcm_(\d+)$/.exec(c.output_format)?.[1];
  const url = new URL(`${c.base_url.replace(/\/+$/, '')}/v1/text-to-speech/${encodeURIComponent(c.voice_id)}`);
  url.searchParams.set('output_format', c.output_format);
  return {
    provider: 'elevenlabs_tts',
    async synthesize(text, signal) {
      if (!pcmRate && !c.output_format.startsWith('mp3')) {
        throw new SpeechServiceError(`elevenlabs_tts: output_format "${c.output_format}" cannot be played here; use an mp3_… or pcm_… format`);
      }
      return synthesizeOverHttp(
        'elevenlabs_tts',
        {
          url: url.toString(),
          headers: { 'xi-api-key': c.api_key, accept: pcmRate ? 'audio/pcm' : 'audio/mpeg' },
          json: {
            text,
            model_id: c.model_id,
            voice_settings: { stability: c.stability, similarity_boost: c.similarity_boost, style: c.style, use_speaker_boost: c.use_speaker_boost },
          },
        },
        signal,
        { timeoutMs: options.timeoutMs, hint: pcmRate ? { pcmSampleRate: Number(pcmRate) } : {} },
      );
    },
  };
}
