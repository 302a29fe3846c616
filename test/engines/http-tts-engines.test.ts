import type http from 'node:http';
import { decodeWav } from '../../src/audio/wav.js';
import { createTtsEngine } from '../../src/engines/tts/create-tts-engine.js';
import { CARTESIA_VERSION } from '../../src/engines/tts/cartesia-tts.js';
import { hasWordsToTranslate } from '../../src/engines/tts/translated-speech.js';
import {
  cutAudio,
  sendAudio,
  sendJson,
  sseEvent,
  stall,
  startFakeServices,
  toneMp3,
  tonePcm,
  toneWav,
  toneWavFloat,
  type FakeServices,
  type SeenRequest,
} from '../fakes/fake-speech-services.js';

/**
 * Every HTTP speech engine against a fake of its service speaking the service's wire format: the request carries
 * the user's settings where the service expects them; the answer (WAV, MP3, float WAV, hex MP3 in events, a Gradio
 * file) becomes playable PCM; refusals, server errors, cut streams and deadlines become one message naming the
 * engine and what the service said; an interrupt closes the request at the service.
 */

type Mode = 'ok' | 'refuse' | '5xx' | 'cut' | 'stall';

interface Case {
  engine: string;
  block: (url: string) => Record<string, unknown>;
  /** Mounts the service's answer for this mode. */
  mount: (fake: FakeServices, mode: Mode) => void;
  /** The request whose shape is checked (and that hangs in `stall` mode). */
  route: string;
  checkRequest: (req: SeenRequest) => void;
  sampleRate: number;
  /** What the refusal's message must contain (the service's own words). */
  refusal: RegExp;
}

const TEXT = '[joy] Hello there, friend.';
const SPOKEN_MS = 500;

/**
 * A server error that asks to be tried again at once (`Retry-After: 0`): the engine still makes every attempt, but
 * does not wait the backoff between them (retries themselves are tested in http-retry.test.ts).
 */
const serverError = (res: http.ServerResponse, status: number, body: unknown) => sendJson(res, status, body, { 'retry-after': '0' });

/** A service that answers one request with a sound file. */
function single(route: string, audio: () => { bytes: Buffer; type: string }, refuse: (res: http.ServerResponse) => void) {
  return (fake: FakeServices, mode: Mode) =>
    fake.on(route, (_req, res) => {
      const { bytes, type } = audio();
      if (mode === 'ok') sendAudio(res, bytes, type);
      else if (mode === 'refuse') refuse(res);
      else if (mode === '5xx') serverError(res, 503, { error: 'service overloaded' });
      else if (mode === 'cut') cutAudio(res, bytes, type);
      else stall(res);
    });
}

const minimaxEvents = (mp3: Buffer) => {
  const hex = mp3.toString('hex');
  const half = Math.floor(hex.length / 4) * 2;
  return [
    sseEvent({ data: { audio: hex.slice(0, half), status: 1, ced: '' }, trace_id: 't1', base_resp: { status_code: 0, status_msg: '' } }),
    sseEvent({ data: { audio: hex.slice(half), status: 1, ced: '' }, trace_id: 't1', base_resp: { status_code: 0, status_msg: '' } }),
    sseEvent({ data: { audio: hex, status: 2, ced: '' }, extra_info: { audio_length: SPOKEN_MS, audio_format: 'mp3' }, trace_id: 't1', base_resp: { status_code: 0, status_msg: 'success' } }),
  ];
};

const GRADIO_FILE = '/tmp/gradio/0a1b/audio.wav';

const CASES: Case[] = [
  {
    engine: 'gpt_sovits_tts',
    block: (url) => ({
      api_url: `${url}/tts`,
      text_lang: 'en',
      ref_audio_path: 'refs/calm.wav',
      prompt_lang: 'ja',
      prompt_text: 'こんにちは',
      text_split_method: 'cut5',
      batch_size: '1',
      media_type: 'wav',
      streaming_mode: 'false',
    }),
    route: 'GET /tts',
    mount: single('GET /tts', () => ({ bytes: toneWav(SPOKEN_MS, 32000), type: 'audio/wav' }), (res) =>
      sendJson(res, 400, { message: 'tts failed', Exception: 'ref_audio_path refs/calm.wav not exists' }),
    ),
    checkRequest: (req) => {
      expect(Object.fromEntries(req.query)).toEqual({
        text: ' Hello there, friend.',
        text_lang: 'en',
        ref_audio_path: 'refs/calm.wav',
        prompt_lang: 'ja',
        prompt_text: 'こんにちは',
        text_split_method: 'cut5',
        batch_size: '1',
        media_type: 'wav',
        streaming_mode: 'false',
      });
    },
    sampleRate: 32000,
    refusal: /gpt_sovits_tts: HTTP 400 .*ref_audio_path refs\/calm\.wav not exists/,
  },
  {
    engine: 'fish_api_tts',
    block: (url) => ({ api_key: 'fish-key', reference_id: 'voice-42', latency: 'normal', base_url: url }),
    route: 'POST /v1/tts',
    mount: single('POST /v1/tts', () => ({ bytes: toneMp3(SPOKEN_MS), type: 'audio/mpeg' }), (res) => sendJson(res, 401, { status: 401, message: 'Invalid api key' })),
    checkRequest: (req) => {
      expect(req.headers.authorization).toBe('Bearer fish-key');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.json).toMatchObject({ text: TEXT, reference_id: 'voice-42', latency: 'normal', format: 'mp3' });
    },
    sampleRate: 24000,
    refusal: /fish_api_tts: HTTP 401 .*Invalid api key/,
  },
  {
    engine: 'siliconflow_tts',
    block: (url) => ({
      api_url: `${url}/v1/audio/speech`,
      api_key: 'sf-key',
      default_model: 'FunAudioLLM/CosyVoice2-0.5B',
      default_voice: 'FunAudioLLM/CosyVoice2-0.5B:alex',
      sample_rate: 32000,
      response_format: 'mp3',
      stream: true,
      speed: 1.2,
      gain: -1,
    }),
    route: 'POST /v1/audio/speech',
    mount: single('POST /v1/audio/speech', () => ({ bytes: toneMp3(SPOKEN_MS), type: 'audio/mpeg' }), (res) =>
      sendJson(res, 400, { code: 20015, message: 'The parameter is invalid. Please check again.', data: null }),
    ),
    checkRequest: (req) => {
      expect(req.headers.authorization).toBe('Bearer sf-key');
      expect(req.json).toEqual({
        input: TEXT,
        response_format: 'mp3',
        sample_rate: 32000,
        stream: true,
        speed: 1.2,
        gain: -1,
        model: 'FunAudioLLM/CosyVoice2-0.5B',
        voice: 'FunAudioLLM/CosyVoice2-0.5B:alex',
      });
    },
    sampleRate: 24000,
    refusal: /siliconflow_tts: HTTP 400 .*20015/,
  },
  {
    engine: 'cosyvoice2_tts',
    block: (url) => ({
      client_url: `${url}/`,
      mode_checkbox_group: '3s极速复刻',
      sft_dropdown: '',
      prompt_text: 'reference words',
      prompt_wav_upload_url: `${url}/refs/upload.wav`,
      prompt_wav_record_url: `${url}/refs/record.wav`,
      instruct_text: '',
      stream: false,
      seed: 7,
      speed: 1.1,
      api_name: '/generate_audio',
    }),
    route: 'POST /gradio_api/call/generate_audio',
    mount: (fake, mode) => {
      fake.on('POST /gradio_api/call/generate_audio', (_req, res) => sendJson(res, 200, { event_id: 'ev-1' }));
      fake.on('GET /gradio_api/call/generate_audio/ev-1', (_req, res) => {
        if (mode === '5xx') return serverError(res, 500, { detail: 'Internal Server Error' });
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        if (mode === 'stall') return void res.flushHeaders();
        res.write(sseEvent('null', 'heartbeat'));
        if (mode === 'cut') return void res.end();
        if (mode === 'refuse') return void res.end(sseEvent('null', 'error'));
        const file = { path: GRADIO_FILE, url: `${fake.url}/gradio_api/file=${GRADIO_FILE}`, orig_name: 'audio.wav', meta: { _type: 'gradio.FileData' } };
        res.end(sseEvent([file], 'complete'));
      });
      fake.on(`GET /gradio_api/file=${GRADIO_FILE}`, (_req, res) => sendAudio(res, toneWav(SPOKEN_MS, 24000), 'audio/wav'));
    },
    checkRequest: (req) => {
      const [text, mode, sft, promptText, upload, record, instruct, seed, stream, speed] = req.json.data;
      expect([text, mode, sft, promptText, instruct, seed, stream, speed]).toEqual([TEXT, '3s极速复刻', '', 'reference words', '', 7, false, 1.1]);
      expect(upload).toMatchObject({ path: expect.stringMatching(/\/refs\/upload\.wav$/), meta: { _type: 'gradio.FileData' } });
      expect(record).toMatchObject({ path: expect.stringMatching(/\/refs\/record\.wav$/) });
    },
    sampleRate: 24000,
    refusal: /cosyvoice2_tts: the Gradio app reported an error/,
  },
  {
    engine: 'minimax_tts',
    block: (url) => ({ group_id: 'group-9', api_key: 'mm-key', model: 'speech-02-turbo', voice_id: 'female-shaonv', pronunciation_dict: '{"tone": ["危险/dangerous"]}', base_url: url }),
    route: 'POST /v1/t2a_v2',
    mount: (fake, mode) =>
      fake.on('POST /v1/t2a_v2', (_req, res) => {
        if (mode === 'refuse') {
          return sendJson(res, 200, { trace_id: 't0', base_resp: { status_code: 1004, status_msg: 'login fail: Please carefully check the authorization header' } });
        }
        if (mode === '5xx') return serverError(res, 502, { base_resp: { status_code: 1000, status_msg: 'unknown error' } });
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (mode === 'stall') return void res.flushHeaders();
        const events = minimaxEvents(toneMp3(SPOKEN_MS));
        if (mode === 'cut') return void res.end(events[0]);
        for (const event of events) res.write(event);
        res.end();
      }),
    checkRequest: (req) => {
      expect(req.query.get('GroupId')).toBe('group-9');
      expect(req.headers.authorization).toBe('Bearer mm-key');
      expect(req.json).toMatchObject({
        model: 'speech-02-turbo',
        text: TEXT,
        stream: true,
        voice_setting: { voice_id: 'female-shaonv' },
        pronunciation_dict: { tone: ['危险/dangerous'] },
        audio_setting: { format: 'mp3', sample_rate: 32000 },
      });
    },
    sampleRate: 24000,
    refusal: /minimax_tts: 1004 login fail/,
  },
  {
    engine: 'elevenlabs_tts',
    block: (url) => ({
      api_key: 'xi-key',
      voice_id: 'JBFqnCBsd6RMkjVDRZzb',
      model_id: 'eleven_multilingual_v2',
      output_format: 'mp3_44100_128',
      stability: 0.4,
      similarity_boost: 0.6,
      style: 0.1,
      use_speaker_boost: false,
      base_url: url,
    }),
    route: 'POST /v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb',
    mount: single('POST /v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb', () => ({ bytes: toneMp3(SPOKEN_MS), type: 'audio/mpeg' }), (res) =>
      sendJson(res, 401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } }),
    ),
    checkRequest: (req) => {
      expect(req.query.get('output_format')).toBe('mp3_44100_128');
      expect(req.headers['xi-api-key']).toBe('xi-key');
      expect(req.json).toEqual({
        text: TEXT,
        model_id: 'eleven_multilingual_v2',
        voice_settings: { stability: 0.4, similarity_boost: 0.6, style: 0.1, use_speaker_boost: false },
      });
    },
    sampleRate: 24000,
    refusal: /elevenlabs_tts: HTTP 401 .*invalid_api_key/,
  },
  {
    engine: 'cartesia_tts',
    block: (url) => ({ api_key: 'ct-key', voice_id: 'voice-uuid', model_id: 'sonic-2', output_format: 'wav', language: 'ja', emotion: 'happy', volume: 1.5, speed: 0.9, base_url: url }),
    route: 'POST /tts/bytes',
    mount: single('POST /tts/bytes', () => ({ bytes: toneWavFloat(SPOKEN_MS, 44100), type: 'audio/wav' }), (res) => sendJson(res, 400, { error: 'voice_id voice-uuid not found' })),
    checkRequest: (req) => {
      expect(req.headers['x-api-key']).toBe('ct-key');
      expect(req.headers['cartesia-version']).toBe(CARTESIA_VERSION);
      expect(req.json).toEqual({
        model_id: 'sonic-2',
        transcript: TEXT,
        voice: { mode: 'id', id: 'voice-uuid' },
        output_format: { container: 'wav', sample_rate: 44100, encoding: 'pcm_f32le' },
        language: 'ja',
        generation_config: { volume: 1.5, speed: 0.9, emotion: 'happy' },
      });
    },
    sampleRate: 44100,
    refusal: /cartesia_tts: HTTP 400 .*voice_id voice-uuid not found/,
  },
  {
    engine: 'azure_tts',
    block: (url) => ({ api_key: 'az-key', region: 'eastus', voice: 'en-US-AshleyNeural', pitch: '26', rate: '1.1', base_url: url }),
    route: 'POST /cognitiveservices/v1',
    mount: single('POST /cognitiveservices/v1', () => ({ bytes: toneWav(SPOKEN_MS, 24000), type: 'audio/x-wav' }), (res) =>
      sendJson(res, 401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint.' } }),
    ),
    checkRequest: (req) => {
      expect(req.headers['ocp-apim-subscription-key']).toBe('az-key');
      expect(req.headers['content-type']).toBe('application/ssml+xml');
      expect(req.headers['x-microsoft-outputformat']).toBe('riff-24khz-16bit-mono-pcm');
      expect(req.raw.toString('utf8')).toBe(
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US"><voice name="en-US-AshleyNeural">' +
          '<prosody pitch="26%" rate="1.1">[joy] Hello there, friend.</prosody></voice></speak>',
      );
    },
    sampleRate: 24000,
    refusal: /azure_tts: HTTP 401 .*Access denied/,
  },
  {
    engine: 'x_tts',
    block: (url) => ({ api_url: `${url}/tts_to_audio/`, speaker_wav: 'calm_female', language: 'de' }),
    route: 'POST /tts_to_audio/',
    mount: single('POST /tts_to_audio/', () => ({ bytes: toneWav(SPOKEN_MS, 24000), type: 'audio/wav' }), (res) => sendJson(res, 400, { detail: 'Speaker calm_female not found' })),
    checkRequest: (req) => expect(req.json).toEqual({ text: TEXT, speaker_wav: 'calm_female', language: 'de' }),
    sampleRate: 24000,
    refusal: /x_tts: HTTP 400 .*Speaker calm_female not found/,
  },
  {
    engine: 'openai_tts',
    block: (url) => ({ base_url: `${url}/v1`, api_key: 'sk-test', model: 'kokoro', voice: 'af_sky+af_bella', file_extension: 'mp3' }),
    route: 'POST /v1/audio/speech',
    mount: single('POST /v1/audio/speech', () => ({ bytes: toneMp3(SPOKEN_MS), type: 'audio/mpeg' }), (res) =>
      sendJson(res, 400, { error: { message: "Voice 'af_nobody' not found", type: 'invalid_request_error' } }),
    ),
    checkRequest: (req) => {
      expect(req.headers.authorization).toBe('Bearer sk-test');
      expect(req.json).toEqual({ model: 'kokoro', voice: 'af_sky+af_bella', input: TEXT, response_format: 'mp3' });
    },
    sampleRate: 24000,
    refusal: /openai_tts: HTTP 400 .*af_nobody/,
  },
];

describe.each(CASES)('$engine', (c) => {
  let fake: FakeServices;
  beforeEach(async () => {
    fake = await startFakeServices();
  });
  afterEach(() => fake.close());

  const engine = () => createTtsEngine(c.engine, c.block(fake.url), { timeoutMs: 5000 }).engine;

  test('sends the configured request and turns the answer into PCM at the rate it was made', async () => {
    c.mount(fake, 'ok');
    const audio = await engine().synthesize(TEXT, new AbortController().signal);
    expect(engine().provider).toBe(c.engine);
    c.checkRequest(fake.requests.find((r) => `${r.method} ${r.path}` === c.route)!);
    expect(audio!.sampleRate).toBe(c.sampleRate);
    const ms = (audio!.samples.length / audio!.sampleRate) * 1000;
    expect(ms).toBeGreaterThan(SPOKEN_MS - 5);
    expect(ms).toBeLessThan(SPOKEN_MS + 150); // MP3 frames pad a little
    expect(Math.max(...audio!.samples.slice(0, 4000))).toBeGreaterThan(3000);
  });

  test("a refusal is one error naming the engine and carrying the service's words", async () => {
    c.mount(fake, 'refuse');
    await expect(engine().synthesize(TEXT, new AbortController().signal)).rejects.toThrow(c.refusal);
  });

  test('a server error names the engine and the status', async () => {
    c.mount(fake, '5xx');
    await expect(engine().synthesize(TEXT, new AbortController().signal)).rejects.toThrow(new RegExp(`^${c.engine}: HTTP 5\\d\\d `));
  });

  test('an answer cut off midway is a failure, not a shorter sound', async () => {
    c.mount(fake, 'cut');
    await expect(engine().synthesize(TEXT, new AbortController().signal)).rejects.toThrow(new RegExp(`^${c.engine}: .*cut off`));
  });

  test('an interrupt mid-request closes the request at the service', async () => {
    c.mount(fake, 'stall');
    const stallRoute = c.engine === 'cosyvoice2_tts' ? 'GET /gradio_api/call/generate_audio/ev-1' : c.route;
    const arrived = fake.nextRequest(stallRoute);
    const controller = new AbortController();
    const pending = engine().synthesize(TEXT, controller.signal).then(
      () => 'resolved',
      (err: Error) => err,
    );
    const request = await arrived;
    controller.abort(new Error('interrupted'));
    expect(await pending).toEqual(new Error('interrupted'));
    await request.closed;
    expect(request.closedEarly).toBe(true);
  });

  test('a service that never finishes is given up after the deadline, naming the engine', async () => {
    c.mount(fake, 'stall');
    const slow = createTtsEngine(c.engine, c.block(fake.url), { timeoutMs: 200 }).engine;
    await expect(slow.synthesize(TEXT, new AbortController().signal)).rejects.toThrow(new RegExp(`^${c.engine}: no answer within 0.2 s`));
    const last = fake.requests.at(-1)!;
    await last.closed;
    expect(last.closedEarly).toBe(true);
  });
});

describe('other answers engines give', () => {
  let fake: FakeServices;
  beforeEach(async () => {
    fake = await startFakeServices();
  });
  afterEach(() => fake.close());

  test('gpt_sovits_tts media_type raw is read as PCM at raw_sample_rate; a streamed WAV with unknown sizes is read to its end', async () => {
    fake.on('GET /tts', (req, res) => {
      if (req.query.get('media_type') === 'raw') return sendAudio(res, tonePcm(SPOKEN_MS, 32000), 'audio/raw');
      const wav = toneWav(SPOKEN_MS, 32000);
      wav.writeUInt32LE(0, 40); // streaming_mode: the header goes out before the length is known
      sendAudio(res, wav, 'audio/wav');
    });
    const raw = createTtsEngine('gpt_sovits_tts', { api_url: `${fake.url}/tts`, media_type: 'raw', streaming_mode: 'true' }).engine;
    const rawAudio = await raw.synthesize('hi', new AbortController().signal);
    expect([rawAudio!.sampleRate, rawAudio!.samples.length]).toEqual([32000, 16000]);
    const streamed = createTtsEngine('gpt_sovits_tts', { api_url: `${fake.url}/tts`, media_type: 'wav', streaming_mode: 'true' }).engine;
    expect((await streamed.synthesize('hi', new AbortController().signal))!.samples.length).toBe(16000);
  });

  test('elevenlabs_tts pcm_16000 and siliconflow_tts pcm are raw PCM at the rate asked for', async () => {
    fake.on('POST /v1/text-to-speech/v', (_req, res) => sendAudio(res, tonePcm(SPOKEN_MS, 16000), 'audio/pcm'));
    fake.on('POST /v1/audio/speech', (req, res) => sendAudio(res, tonePcm(SPOKEN_MS, req.json.sample_rate), 'audio/pcm'));
    const eleven = createTtsEngine('elevenlabs_tts', { api_key: 'k', voice_id: 'v', output_format: 'pcm_16000', base_url: fake.url }).engine;
    expect((await eleven.synthesize('hi', new AbortController().signal))!.sampleRate).toBe(16000);
    const silicon = createTtsEngine('siliconflow_tts', { api_url: `${fake.url}/v1/audio/speech`, api_key: 'k', response_format: 'pcm', sample_rate: 24000 }).engine;
    const audio = await silicon.synthesize('hi', new AbortController().signal);
    expect([audio!.sampleRate, audio!.samples.length]).toEqual([24000, 12000]);
  });

  test('openai_tts file_extension wav asks for WAV; a server answering MP3 anyway is still heard', async () => {
    fake.on('POST /v1/audio/speech', (_req, res) => sendAudio(res, toneMp3(SPOKEN_MS), 'audio/mpeg'));
    const wav = createTtsEngine('openai_tts', { base_url: `${fake.url}/v1`, file_extension: 'wav' }).engine;
    expect((await wav.synthesize('hi', new AbortController().signal))!.sampleRate).toBe(24000);
    expect(fake.requests[0]!.json.response_format).toBe('wav');
    const byDefault = createTtsEngine('openai_tts', { base_url: `${fake.url}/v1` }).engine;
    await byDefault.synthesize('hi', new AbortController().signal);
    expect(fake.requests[1]!.json.response_format).toBe('mp3'); // upstream's default
  });

  test('a format that cannot be played is refused before asking, and an answer that is not audio is named', async () => {
    const ogg = createTtsEngine('gpt_sovits_tts', { api_url: `${fake.url}/tts`, media_type: 'ogg' }).engine;
    await expect(ogg.synthesize('hi', new AbortController().signal)).rejects.toThrow('gpt_sovits_tts: media_type "ogg" cannot be played here');
    expect(fake.requests).toHaveLength(0);
    fake.on('POST /tts_to_audio', (_req, res) => sendJson(res, 200, { status: 'queued' }));
    const xtts = createTtsEngine('x_tts', { api_url: `${fake.url}/tts_to_audio` }).engine;
    await expect(xtts.synthesize('hi', new AbortController().signal)).rejects.toThrow(/^x_tts: answered application\/json instead of audio: \{"status":"queued"\}/);
  });

  test('an unreachable service names the engine and the address', async () => {
    const url = fake.url;
    await fake.close();
    const engine = createTtsEngine('x_tts', { api_url: `${url}/tts_to_audio` }).engine;
    await expect(engine.synthesize('hi', new AbortController().signal)).rejects.toThrow(`x_tts: cannot reach ${url} (ECONNREFUSED)`);
    fake = await startFakeServices();
  });

  test('the block is read with upstream key names; a bad value names the key', () => {
    expect(() => createTtsEngine('cartesia_tts', { api_key: 'k', output_format: 'flac' })).toThrow(/output_format/);
    expect(() => createTtsEngine('gpt_sovits_tts', {})).not.toThrow();
    expect(() => createTtsEngine('minimax_tts', { pronunciation_dict: '{nope' })).toThrow(/pronunciation_dict is not JSON/);
  });
});

test('decoded WAV from a float source is the canonical 16-bit kind the client lip-syncs with', () => {
  const wav = toneWavFloat(100, 44100);
  expect(decodeWav(wav).samples.length).toBe(4410);
});

test('only sentences with words are translated (upstream skips punctuation-only text)', () => {
  expect(hasWordsToTranslate('...')).toBe(false);
  expect(hasWordsToTranslate(' 。！？」 ')).toBe(false);
  expect(hasWordsToTranslate('Hi!')).toBe(true);
});

test('an address that is not an http(s) URL is refused when the character loads, naming the key', () => {
  expect(() => createTtsEngine('x_tts', { api_url: 'localhost:8020/tts_to_audio' })).toThrow(/api_url[\s\S]*expected an http\(s\) URL/);
  expect(() => createTtsEngine('cosyvoice2_tts', { client_url: 'ftp://host/' })).toThrow(/client_url/);
});
