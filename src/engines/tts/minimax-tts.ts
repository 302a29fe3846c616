import { z } from 'zod';
import { callService, decodeServiceAudio, readBody, readServiceEvents, SpeechServiceError, withDeadline, DEFAULT_SPEECH_TIMEOUT_MS, type HttpEngineOptions, httpUrl } from './http-synthesis.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export const minimaxSchema = z.looseObject({
  group_id: z.string().default(''),
  api_key: z.string().default(''),
  model: z.string().min(1).default('speech-02-turbo'),
  voice_id: z.string().min(1).default('male-qn-qingse'),
  pronunciation_dict: z.string().default(''),
  /** This server's own: another endpoint (api.minimaxi.chat outside China, a proxy, a test server). */
  base_url: httpUrl('https://api.minimax.chat'),
});

interface MinimaxChunk {
  data?: { audio?: string; status?: number } | null;
  extra_info?: unknown;
  base_resp?: { status_code?: number; status_msg?: string };
}

const refusal = (chunk: MinimaxChunk) =>
  chunk.base_resp && chunk.base_resp.status_code !== 0
    ? new SpeechServiceError(`minimax_tts: ${chunk.base_resp.status_code} ${chunk.base_resp.status_msg ?? ''}`.trim())
    : undefined;

/**
 * MiniMax `POST /v1/t2a_v2?GroupId=…`, streamed as upstream asks: server-sent events whose `data.audio` is hex MP3.
 * The last event (with `extra_info`) repeats the whole audio and is skipped, as upstream does. A refusal comes as
 * plain JSON with a non-zero `base_resp.status_code`.
 */
export function minimaxTtsEngine(c: z.output<typeof minimaxSchema>, options: HttpEngineOptions = {}): TtsEngine {
  let pronunciation: unknown = { tone: [] };
  if (c.pronunciation_dict.trim()) {
    try {
      pronunciation = JSON.parse(c.pronunciation_dict);
    } catch (err) {
      throw new Error(`pronunciation_dict is not JSON (${(err as Error).message})`);
    }
  }
  const url = `${c.base_url.replace(/\/+$/, '')}/v1/t2a_v2?GroupId=${encodeURIComponent(c.group_id)}`;
  return {
    provider: 'minimax_tts',
    async synthesize(text, signal) {
      const mp3 = await withDeadline('minimax_tts', signal, options.timeoutMs ?? DEFAULT_SPEECH_TIMEOUT_MS, async (bounded) => {
        const res = await callService(
          'minimax_tts',
          {
            url,
            headers: { accept: 'application/json, text/plain, */*', authorization: `Bearer ${c.api_key}` },
            json: {
              model: c.model,
              text,
              stream: true,
              voice_setting: { voice_id: c.voice_id, speed: 1.0, vol: 1.0, pitch: 0 },
              pronunciation_dict: pronunciation,
              audio_setting: { sample_rate: 32000, bitrate: 128000, format: 'mp3', channel: 1 },
            },
          },
          bounded,
        );
        if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
          const body = await readBody('minimax_tts', res, bounded);
          let chunk: MinimaxChunk | undefined;
          try {
            chunk = JSON.parse(body.toString('utf8')) as MinimaxChunk;
          } catch {
            // not JSON: reported below
          }
          throw (chunk && refusal(chunk)) ?? new SpeechServiceError(`minimax_tts: answered ${res.headers.get('content-type')}: ${body.toString('utf8', 0, 300)}`);
        }
        const parts: Buffer[] = [];
        let finished = false;
        await readServiceEvents(
          'minimax_tts',
          res,
          bounded,
          (event) => {
            const chunk = JSON.parse(event.data) as MinimaxChunk;
            const refused = refusal(chunk);
            if (refused) throw refused;
            if (chunk.extra_info !== undefined || chunk.data?.status === 2) {
              finished = true;
              return 'done';
            }
            if (chunk.data?.audio) parts.push(Buffer.from(chunk.data.audio, 'hex'));
            return 'continue';
          },
          { endIsDone: false },
        );
        if (!finished) throw new SpeechServiceError('minimax_tts: the stream was cut off before its end');
        return Buffer.concat(parts);
      });
      return decodeServiceAudio('minimax_tts', mp3);
    },
  };
}
