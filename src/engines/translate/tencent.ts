import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { callService, readBody, SpeechServiceError, withDeadline, DEFAULT_SPEECH_TIMEOUT_MS } from '../tts/http-synthesis.js';
import type { Translator } from './translator.js';

export const tencentSchema = z.looseObject({
  secret_id: z.string().default(''),
  secret_key: z.string().default(''),
  region: z.string().default('ap-guangzhou'),
  source_lang: z.string().default('zh'),
  target_lang: z.string().default('ja'),
  /** This server's own: another endpoint than https://tmt.tencentcloudapi.com (a proxy, a test server). */
  endpoint: z.string().optional(),
});

const HOST = 'tmt.tencentcloudapi.com';
const SERVICE = 'tmt';
const ACTION = 'TextTranslate';
const VERSION = '2018-03-21';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();

/** Tencent Cloud API v3 signature (TC3-HMAC-SHA256) of a JSON POST to `/`, as upstream computes it. */
export function tc3Headers(payload: string, secretId: string, secretKey: string, region: string, timestamp: number): Record<string, string> {
  const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
  const contentType = 'application/json; charset=utf-8';
  const signedHeaders = 'content-type;host;x-tc-action';
  const canonicalRequest = ['POST', '/', '', `content-type:${contentType}\nhost:${HOST}\nx-tc-action:${ACTION.toLowerCase()}\n`, signedHeaders, sha256(payload)].join('\n');
  const scope = `${date}/${SERVICE}/tc3_request`;
  const stringToSign = `TC3-HMAC-SHA256\n${timestamp}\n${scope}\n${sha256(canonicalRequest)}`;
  const signing = hmac(hmac(hmac(`TC3${secretKey}`, date), SERVICE), 'tc3_request');
  const signature = createHmac('sha256', signing).update(stringToSign, 'utf8').digest('hex');
  return {
    authorization: `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    'content-type': contentType,
    host: HOST,
    'x-tc-action': ACTION,
    'x-tc-timestamp': String(timestamp),
    'x-tc-version': VERSION,
    ...(region ? { 'x-tc-region': region } : {}),
  };
}

/** Tencent Machine Translation `TextTranslate`; its errors come inside a 200 answer as `Response.Error`. */
export function tencentTranslator(c: z.output<typeof tencentSchema>, options: { timeoutMs?: number } = {}): Translator {
  return {
    provider: 'tencent',
    translate: (text, signal) =>
      withDeadline('tencent', signal, options.timeoutMs ?? DEFAULT_SPEECH_TIMEOUT_MS, async (bounded) => {
        const payload = JSON.stringify({ SourceText: text, Source: c.source_lang, Target: c.target_lang, ProjectId: 0 });
        const headers = tc3Headers(payload, c.secret_id, c.secret_key, c.region, Math.floor(Date.now() / 1000));
        const { host: _host, ...sent } = headers; // fetch sets Host from the URL
        const res = await callService('tencent', { url: c.endpoint ?? `https://${HOST}`, headers: sent, body: payload }, bounded);
        const raw = (await readBody('tencent', res, bounded)).toString('utf8');
        let answer: { Response?: { TargetText?: string; Error?: { Code?: string; Message?: string } } };
        try {
          answer = JSON.parse(raw);
        } catch {
          throw new SpeechServiceError(`tencent: answered something that is not JSON: ${raw.slice(0, 200)}`);
        }
        const error = answer.Response?.Error;
        if (error) throw new SpeechServiceError(`tencent: ${error.Code ?? 'Error'} ${error.Message ?? ''}`.trim());
        if (typeof answer.Response?.TargetText !== 'string') throw new SpeechServiceError(`tencent: answered no translation: ${raw.slice(0, 200)}`);
        return answer.Response.TargetText;
      }),
  };
}
