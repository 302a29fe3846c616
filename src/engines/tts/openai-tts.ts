import { decodeWav, pcm16 } from '../../audio/wav.js';
import type { TtsEngine } from './tts-engine.js';
import { fetchWithRetry } from '../http-retry.js';

export interface OpenAiTtsSettings {
  baseUrl: string;
  apiKey: string;
  model: string;
  voice: string;
  speed?: number;
}

/**
 * OpenAI-compatible `POST /audio/speech` (OpenAI, Kokoro-FastAPI, LocalAI, …). We always ask for WAV, which every
 * such server can produce and we can pass on without a decoder; a server that answers raw PCM is read as 24 kHz mono.
 */
export function openAiTtsEngine(settings: OpenAiTtsSettings): TtsEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/audio/speech`;
  return {
    provider: 'openai_tts',
    async synthesize(text, signal, options) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
      const body = { model: settings.model, voice: settings.voice, input: text, response_format: 'wav', ...(settings.speed ? { speed: settings.speed } : {}) };
      const res = await fetchWithRetry(url, { method: 'POST', headers, body: JSON.stringify(body), signal }, 'openai_tts', options);
      const bytes = Buffer.from(await res.arrayBuffer());
      if (!res.ok) throw new Error(`openai_tts answered HTTP ${res.status}: ${bytes.toString('utf8', 0, 200)}`);
      return bytes.toString('ascii', 0, 4) === 'RIFF' ? decodeWav(bytes) : pcm16(bytes, 24000);
    },
  };
}
