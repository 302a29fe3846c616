import { encodeWav } from '../../audio/wav.js';
import { ASR_SAMPLE_RATE, toPcm16 } from './asr-engine.js';
import { FormData } from 'undici';
import { requestWithRetry } from '../http-retry.js';
import type { AsrEngine } from '../../../machines/engine-contracts.js';

export interface WhisperHttpSettings {
  provider: string;
  baseUrl: string;
  apiKey: string;
  model: string;
  language?: string;
}

/** OpenAI-compatible `POST /audio/transcriptions` (OpenAI, Groq, faster-whisper-server, whisper.cpp server, …). */
export function openAiCompatibleAsr(settings: WhisperHttpSettings): AsrEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`;
  return {
    provider: settings.provider,
    async transcribe(samples, signal, options) {
      const wav = encodeWav({ sampleRate: ASR_SAMPLE_RATE, channels: 1, samples: toPcm16(samples) });
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'speech.wav');
      form.append('model', settings.model);
      form.append('response_format', 'json');
      if (settings.language) form.append('language', settings.language);
      const headers: Record<string, string> = {};
      if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
      const res = await requestWithRetry(url, { method: 'POST', headers, body: form, signal }, settings.provider, options);
      const text = await res.text();
      if (!res.ok) throw new Error(`${settings.provider} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
      try {
        return String((JSON.parse(text) as { text?: unknown }).text ?? '').trim();
      } catch {
        return text.trim();
      }
    },
  };
}
