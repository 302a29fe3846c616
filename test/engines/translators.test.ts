import { createHash, createHmac } from 'node:crypto';
import { createTranslator } from '../../src/engines/translate/create-translator.js';
import { sendJson, startFakeServices, stall, type FakeServices } from '../fakes/fake-speech-services.js';

/** The translators against fakes of DeepLX and Tencent Machine Translation speaking their wire formats. */

let fake: FakeServices;
beforeEach(async () => {
  fake = await startFakeServices();
});
afterEach(() => fake.close());

const signal = () => new AbortController().signal;

describe('deeplx', () => {
  const deeplx = (endpoint: string) =>
    createTranslator({ translate_audio: true, translate_provider: 'deeplx', deeplx: { deeplx_target_lang: 'JA', deeplx_api_endpoint: endpoint } })!;

  test("upstream's body to the /v2 endpoint; its translations are joined", async () => {
    fake.on('POST /v2/translate', (_req, res) => sendJson(res, 200, { translations: [{ detected_source_language: 'EN', text: 'おはよう' }, { text: 'ございます' }] }));
    expect(await deeplx(`${fake.url}/v2/translate`).translate('Good morning', signal())).toBe('おはよう ございます');
    expect(fake.requests[0]!.json).toEqual({ text: ['Good morning'], target_lang: 'JA' });
  });

  test("the /translate endpoint's answer is read too; a refusal names deeplx and what it said", async () => {
    fake.on('POST /translate', (_req, res) => sendJson(res, 200, { code: 200, id: 1, data: 'おはよう', alternatives: [] }));
    expect(await deeplx(`${fake.url}/translate`).translate('Good morning', signal())).toBe('おはよう');
    fake.on('POST /v2/translate', (_req, res) => sendJson(res, 401, { code: 401, message: 'Invalid access token' }));
    await expect(deeplx(`${fake.url}/v2/translate`).translate('x', signal())).rejects.toThrow('deeplx: HTTP 401 {"code":401,"message":"Invalid access token"}');
  });

  test('aborting closes the request at DeepLX', async () => {
    fake.on('POST /v2/translate', (_req, res) => stall(res));
    const arrived = fake.nextRequest('POST /v2/translate');
    const controller = new AbortController();
    const pending = deeplx(`${fake.url}/v2/translate`).translate('x', controller.signal).catch((err: Error) => err);
    const request = await arrived;
    controller.abort(new Error('interrupted'));
    expect(await pending).toEqual(new Error('interrupted'));
    await request.closed;
    expect(request.closedEarly).toBe(true);
  });
});

describe('tencent', () => {
  const tencent = () =>
    createTranslator({
      translate_audio: true,
      translate_provider: 'tencent',
      tencent: { secret_id: 'AKIDtest', secret_key: 'secret', region: 'ap-tokyo', source_lang: 'zh', target_lang: 'ja', endpoint: fake.url },
    })!;

  test('TextTranslate with a TC3-HMAC-SHA256 signature that verifies', async () => {
    fake.on('POST /', (_req, res) => sendJson(res, 200, { Response: { TargetText: 'こんにちは', Source: 'zh', Target: 'ja', RequestId: 'r1' } }));
    expect(await tencent().translate('你好', signal())).toBe('こんにちは');
    const req = fake.requests[0]!;
    expect(req.json).toEqual({ SourceText: '你好', Source: 'zh', Target: 'ja', ProjectId: 0 });
    expect(req.headers).toMatchObject({ 'x-tc-action': 'TextTranslate', 'x-tc-version': '2018-03-21', 'x-tc-region': 'ap-tokyo', 'content-type': 'application/json; charset=utf-8' });
    // The signature, recomputed here from Tencent's documented steps.
    const timestamp = Number(req.headers['x-tc-timestamp']);
    const date = new Date(timestamp * 1000).toISOString().slice(0, 10);
    const hex = (s: string) => createHash('sha256').update(s).digest('hex');
    const canonical = `POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:tmt.tencentcloudapi.com\nx-tc-action:texttranslate\n\ncontent-type;host;x-tc-action\n${hex(req.raw.toString('utf8'))}`;
    const toSign = `TC3-HMAC-SHA256\n${timestamp}\n${date}/tmt/tc3_request\n${hex(canonical)}`;
    const key = ['tmt', 'tc3_request'].reduce((k, part) => createHmac('sha256', k).update(part).digest(), createHmac('sha256', 'TC3secret').update(date).digest());
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    expect(req.headers.authorization).toBe(`TC3-HMAC-SHA256 Credential=AKIDtest/${date}/tmt/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=${signature}`);
  });

  test("an error inside a 200 answer (Response.Error) is a failure with Tencent's code and message", async () => {
    fake.on('POST /', (_req, res) => sendJson(res, 200, { Response: { Error: { Code: 'AuthFailure.SignatureFailure', Message: 'The provided credentials could not be validated.' }, RequestId: 'r2' } }));
    await expect(tencent().translate('你好', signal())).rejects.toThrow('tencent: AuthFailure.SignatureFailure The provided credentials could not be validated.');
  });
});

test('translate_audio off: no translator; on without a provider: a clear error', () => {
  expect(createTranslator({ translate_audio: false })).toBeUndefined();
  expect(() => createTranslator({ translate_audio: true })).toThrow('translate_provider is not set');
});
