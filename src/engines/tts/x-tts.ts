import { z } from 'zod';
import { synthesizeOverHttp, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export const xTtsSchema = z.looseObject({
  api_url: httpUrl('http://127.0.0.1:8020/tts_to_audio'),
  speaker_wav: z.string().default('female'),
  language: z.string().default('en'),
});

/** xtts-api-server's `POST /tts_to_audio` (JSON `text`, `speaker_wav`, `language`), answered with WAV. */
export function xTtsEngine(c: z.output<typeof xTtsSchema>, options: HttpEngineOptions = {}): TtsEngine {
  return {
    provider: 'x_tts',
    synthesize: (text, signal) =>
      synthesizeOverHttp('x_tts', { url: c.api_url, json: { text, speaker_wav: c.speaker_wav, language: c.language } }, signal, {
        timeoutMs: options.timeoutMs,
      }),
  };
}
