import { z } from 'zod';
import { callService, readBody, SpeechServiceError, withDeadline, DEFAULT_SPEECH_TIMEOUT_MS } from '../tts/http-synthesis.js';
import type { Translator } from './translator.js';

export const deeplxSchema = z.looseObject({
  deeplx_target_lang: z.string().min(1).default('JA'),
  deeplx_api_endpoint: z.string().min(1).default('http://localhost:1188/v2/translate'),
});

/**
 * DeepLX with the body upstream sends (`{"text": [text], "target_lang"}`, its /v2 endpoint, which answers
 * `{"translations": [{"text"}]}`); the /translate endpoint's answer (`{"code": 200, "data"}`) is read too.
 */
export function deeplxTranslator(c: z.output<typeof deeplxSchema>, options: { timeoutMs?: number } = {}): Translator {
  return {
    provider: 'deeplx',
    translate: (text, signal) =>
      withDeadline('deeplx', signal, options.timeoutMs ?? DEFAULT_SPEECH_TIMEOUT_MS, async (bounded) => {
        const res = await callService('deeplx', { url: c.deeplx_api_endpoint, json: { text: [text], target_lang: c.deeplx_target_lang } }, bounded);
        const raw = (await readBody('deeplx', res, bounded)).toString('utf8');
        let answer: { translations?: Array<{ text?: string }>; data?: unknown; code?: number; message?: string };
        try {
          answer = JSON.parse(raw);
        } catch {
          throw new SpeechServiceError(`deeplx: answered something that is not JSON: ${raw.slice(0, 200)}`);
        }
        if (Array.isArray(answer.translations)) return answer.translations.map((t) => t.text ?? '').join(' ');
        if (typeof answer.data === 'string' && (answer.code === undefined || answer.code === 200)) return answer.data;
        throw new SpeechServiceError(`deeplx: answered no translation: ${raw.slice(0, 200)}`);
      }),
  };
}
