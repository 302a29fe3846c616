import { z } from 'zod';
import { synthesizeOverHttp, type HttpEngineOptions } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export const azureSchema = z.looseObject({
  api_key: z.string().default(''),
  region: z.string().min(1),
  voice: z.string().min(1),
  pitch: z.union([z.string(), z.number()]).default('0'),
  rate: z.union([z.string(), z.number()]).default('1'),
  /** This server's own: another endpoint than `https://<region>.tts.speech.microsoft.com` (sovereign clouds, tests). */
  base_url: z.string().optional(),
});

const escapeXml = (text: string) =>
  text.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);

/** The SSML upstream sends: the voice, `pitch` as a percentage and `rate` as a factor. */
export function azureSsml(text: string, voice: string, pitch: string | number, rate: string | number): string {
  return (
    `<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">` +
    `<voice name="${escapeXml(voice)}"><prosody pitch="${escapeXml(String(pitch))}%" rate="${escapeXml(String(rate))}">` +
    `${escapeXml(text.trim())}</prosody></voice></speak>`
  );
}

/** Azure Speech's REST text-to-speech (`POST /cognitiveservices/v1`, SSML in, 24 kHz 16-bit WAV out). */
export function azureTtsEngine(c: z.output<typeof azureSchema>, options: HttpEngineOptions = {}): TtsEngine {
  const base = (c.base_url ?? `https://${c.region}.tts.speech.microsoft.com`).replace(/\/+$/, '');
  return {
    provider: 'azure_tts',
    synthesize: (text, signal) =>
      synthesizeOverHttp(
        'azure_tts',
        {
          url: `${base}/cognitiveservices/v1`,
          headers: {
            'ocp-apim-subscription-key': c.api_key,
            'content-type': 'application/ssml+xml',
            'x-microsoft-outputformat': 'riff-24khz-16bit-mono-pcm',
            'user-agent': 'vtuber-actor-server',
          },
          body: azureSsml(text, c.voice, c.pitch, c.rate),
        },
        signal,
        { timeoutMs: options.timeoutMs },
      ),
  };
}
