import { synthesizeOverHttp, type HttpEngineOptions } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export interface OpenAiTtsSettings {
  baseUrl: string;
  apiKey: string;
  model: string;
  voice: string;
  speed?: number;
  /** Upstream's `file_extension`: what to ask for (`mp3`, upstream's default, or `wav`). */
  fileExtension?: 'mp3' | 'wav';
}

/**
 * OpenAI-compatible `POST /audio/speech` (OpenAI, Kokoro-FastAPI, LocalAI, …) with `response_format` from
 * `file_extension`. The answer is decoded by what it is (WAV, MP3, or OpenAI's raw 24 kHz PCM), not by what was asked.
 */
export function openAiTtsEngine(settings: OpenAiTtsSettings, options: HttpEngineOptions = {}): TtsEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/audio/speech`;
  const format = settings.fileExtension ?? 'mp3';
  return {
    provider: 'openai_tts',
    synthesize(text, signal) {
      const headers: Record<string, string> = {};
      if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
      const body = { model: settings.model, voice: settings.voice, input: text, response_format: format, ...(settings.speed ? { speed: settings.speed } : {}) };
      return synthesizeOverHttp('openai_tts', { url, headers, json: body }, signal, { timeoutMs: options.timeoutMs });
    },
  };
}
