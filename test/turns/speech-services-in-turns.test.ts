import { Writable } from 'node:stream';
import winston from 'winston';
import { decodeWav } from '../../src/audio/wav.js';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { sendAudio, sendJson, sseEvent, stall, startFakeServices, toneWav, type FakeServices, type SeenRequest } from '../fakes/fake-speech-services.js';
import { editConf, useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient } from '../helpers/ws-client.js';

/**
 * The HTTP speech engines, translation, Letta and Ollama as a client sees them: frames on a real socket from a real
 * server whose services are fakes of their own that speak the services' wire formats.
 */

function capturingLogger() {
  const lines: string[] = [];
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.printf((info) => `${info.level}: ${String(info.message)}`),
    transports: [new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }) })],
  });
  return { logger, lines };
}

interface Setup {
  fake: FakeAiServer;
  services: FakeServices;
  server: Awaited<ReturnType<typeof startTestServer>>;
  lines: string[];
  stop(): Promise<void>;
}

/** A server whose LLM is the fake AI server and whose other services are `services`; `changes` edit conf.yaml. */
async function serve(changes: (services: FakeServices, fake: FakeAiServer) => Record<string, unknown>): Promise<Setup> {
  const fixture = makeFixtureRoot();
  const fake = await startFakeAiServer();
  const services = await startFakeServices();
  useFakeEngines(fixture.root, fake.baseUrl);
  editConf(fixture.root, { 'system_config.playback_slack_seconds': 0, ...changes(services, fake) });
  const { logger, lines } = capturingLogger();
  const server = await startTestServer(fixture.root, { logger });
  let stopped = false;
  return {
    fake,
    services,
    server,
    lines,
    async stop() {
      if (!stopped) await server.stop();
      stopped = true;
      await services.close();
      await fake.close();
      fixture.cleanup();
    },
  };
}

async function turn(setup: Setup, text = 'Hi'): Promise<TestClient> {
  const client = await TestClient.connect(setup.server.wsUrl);
  await client.ready();
  client.send({ type: 'text-input', text, images: [] });
  return client;
}

const displayTexts = (client: TestClient) => client.ofType('audio').map((f) => (f.display_text as { text: string }).text);
const ended = (client: TestClient) => client.waitUntil((fs) => fs.some((f) => f.type === 'control' && f.text === 'conversation-chain-end'), 8000, 'chain end');

describe('an HTTP engine in a turn', () => {
  let setup: Setup;
  afterEach(() => setup.stop());

  test('gpt_sovits_tts at 32 kHz reaches the client as canonical 16-bit WAV with 20 ms volumes', async () => {
    setup = await serve((services) => ({
      'character_config.tts_config.tts_model': 'gpt_sovits_tts',
      'character_config.tts_config.gpt_sovits_tts': { api_url: `${services.url}/tts`, text_lang: 'en', ref_audio_path: 'ref.wav', prompt_lang: 'en', prompt_text: '', media_type: 'wav' },
    }));
    setup.services.on('GET /tts', (req, res) => sendAudio(res, toneWav((req.query.get('text') ?? '').length * 20, 32000), 'audio/wav'));
    setup.fake.llm = () => ({ tokens: tokens('Hello there! How are you today?') });
    const client = await turn(setup);
    await client.next('backend-synth-complete', 1, 8000);
    const frames = client.ofType('audio');
    expect(displayTexts(client)).toEqual(['Hello there! ', 'How are you today?']);
    for (const frame of frames) {
      const wav = Buffer.from(frame.audio as string, 'base64');
      expect([wav.toString('ascii', 12, 16), wav.readUInt16LE(20), wav.readUInt16LE(34)]).toEqual(['fmt ', 1, 16]);
      const audio = decodeWav(wav);
      expect(audio.sampleRate).toBe(32000);
      const volumes = frame.volumes as number[];
      expect(volumes).toHaveLength(Math.ceil(audio.samples.length / 640));
      expect(Math.max(...volumes)).toBe(1);
    }
    expect(setup.services.requests.map((r) => r.query.get('text'))).toEqual(['Hello there!', 'How are you today?']);
    await client.close();
  });

  test('an engine that refuses every sentence gives one error frame per turn, with its name and its words; the text is still shown', async () => {
    setup = await serve((services) => ({
      'character_config.tts_config.tts_model': 'elevenlabs_tts',
      'character_config.tts_config.elevenlabs_tts': { api_key: 'wrong', voice_id: 'v1', base_url: services.url },
    }));
    setup.services.on('POST /v1/text-to-speech/v1', (_req, res) => sendJson(res, 401, { detail: { status: 'invalid_api_key', message: 'Invalid API key' } }));
    setup.fake.llm = () => ({ tokens: tokens('One. Two. Three.') });
    const client = await turn(setup);
    await ended(client);
    expect(displayTexts(client)).toEqual(['One. ', 'Two. ', 'Three.']);
    expect(client.ofType('audio').every((f) => f.audio === null)).toBe(true);
    expect(client.ofType('error').map((f) => f.message)).toEqual([
      'Speech synthesis failed: elevenlabs_tts: HTTP 401 {"detail":{"status":"invalid_api_key","message":"Invalid API key"}}',
    ]);
    client.send({ type: 'text-input', text: 'again', images: [] });
    await client.waitUntil((fs) => fs.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length === 2, 8000, 'second turn');
    expect(client.ofType('error')).toHaveLength(2);
    await client.close();
  });
});

describe('an interrupt while an HTTP engine is speaking', () => {
  let setup: Setup;
  afterEach(() => setup.stop());

  test('closes the synthesis request at the service; the next turn speaks', async () => {
    setup = await serve((services) => ({
      'character_config.tts_config.tts_model': 'fish_api_tts',
      'character_config.tts_config.fish_api_tts': { api_key: 'k', reference_id: 'r', latency: 'balanced', base_url: services.url },
    }));
    let hang = true;
    setup.services.on('POST /v1/tts', (_req, res) => {
      if (hang) return stall(res);
      sendAudio(res, toneWav(300, 24000), 'audio/wav');
    });
    setup.fake.llm = () => ({ tokens: tokens('A sentence that will never be heard.') });
    const arrived = setup.services.nextRequest('POST /v1/tts');
    const client = await turn(setup);
    const request = await arrived;
    client.send({ type: 'interrupt-signal', text: '' });
    await request.closed;
    expect(request.closedEarly).toBe(true);
    hang = false;
    client.send({ type: 'text-input', text: 'again', images: [] });
    await client.next('backend-synth-complete', 1, 8000);
    expect(client.ofType('audio').map((f) => typeof f.audio)).toEqual(['string']);
    expect(client.ofType('error')).toEqual([]);
    await client.close();
  });
});

describe('translation before speech (translate_audio)', () => {
  let setup: Setup;
  afterEach(() => setup.stop());

  const translating = (services: FakeServices) => ({
    'character_config.tts_config.tts_model': 'x_tts',
    'character_config.tts_config.x_tts': { api_url: `${services.url}/tts_to_audio`, speaker_wav: 'female', language: 'ja' },
    'character_config.tts_preprocessor_config.translator_config': {
      translate_audio: true,
      translate_provider: 'deeplx',
      deeplx: { deeplx_target_lang: 'JA', deeplx_api_endpoint: `${services.url}/v2/translate` },
    },
  });
  const spoken = (services: FakeServices) => services.requests.filter((r) => r.path === '/tts_to_audio').map((r) => r.json.text as string);

  test('the client shows the original, the engine speaks the translation', async () => {
    setup = await serve(translating);
    setup.services.on('POST /v2/translate', (req, res) =>
      sendJson(res, 200, { translations: req.json.text.map((text: string) => ({ detected_source_language: 'EN', text: `【${text}】` })) }),
    );
    setup.services.on('POST /tts_to_audio', (_req, res) => sendAudio(res, toneWav(300, 24000), 'audio/wav'));
    setup.fake.llm = () => ({ tokens: tokens('Good morning! How did you sleep?') });
    const client = await turn(setup);
    await client.next('backend-synth-complete', 1, 8000);
    expect(displayTexts(client)).toEqual(['Good morning! ', 'How did you sleep?']);
    expect(spoken(setup.services).sort()).toEqual(['【Good morning!】', '【How did you sleep?】']);
    const asked = setup.services.requests.filter((r) => r.path === '/v2/translate');
    expect(asked.map((r) => r.json).sort((a, b) => a.text[0].localeCompare(b.text[0]))).toEqual([
      { text: ['Good morning!'], target_lang: 'JA' },
      { text: ['How did you sleep?'], target_lang: 'JA' },
    ]);
    await client.close();
  });

  test('a failed translation speaks the original and is logged once, not once per sentence', async () => {
    setup = await serve(translating);
    setup.services.on('POST /v2/translate', (_req, res) => sendJson(res, 503, { code: 503, message: 'too many requests' }));
    setup.services.on('POST /tts_to_audio', (_req, res) => sendAudio(res, toneWav(300, 24000), 'audio/wav'));
    setup.fake.llm = () => ({ tokens: tokens('First one. Second one. Third one.') });
    const client = await turn(setup);
    await client.next('backend-synth-complete', 1, 8000);
    expect(spoken(setup.services).sort()).toEqual(['First one.', 'Second one.', 'Third one.']);
    expect(client.ofType('audio').every((f) => typeof f.audio === 'string')).toBe(true);
    expect(client.ofType('error')).toEqual([]);
    const warnings = setup.lines.filter((l) => l.includes('translation failed'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('deeplx: HTTP 503');
    await client.close();
  });
});

describe('letta_agent: a Letta server holds the agent', () => {
  let setup: Setup;
  afterEach(() => setup.stop());

  const route = 'POST /v1/agents/agent-7/messages/stream';
  const withLetta = (services: FakeServices) => ({
    'character_config.agent_config.conversation_agent_choice': 'letta_agent',
    'character_config.agent_config.agent_settings.letta_agent': { host: '127.0.0.1', port: Number(new URL(services.url).port), id: 'agent-7' },
    'character_config.tts_config.tts_model': 'silent_tts',
  });
  const lettaEvents = [
    sseEvent({ id: 'm1', message_type: 'reasoning_message', reasoning: 'The user greets me.' }),
    sseEvent({ id: 'm2', message_type: 'assistant_message', content: 'Hello again!' }),
    sseEvent({ id: 'm2', message_type: 'assistant_message', content: ' I remember' }),
    sseEvent({ id: 'm2', message_type: 'assistant_message', content: ' you.' }),
    sseEvent({ message_type: 'stop_reason', stop_reason: 'end_turn' }),
    sseEvent({ message_type: 'usage_statistics', completion_tokens: 9, prompt_tokens: 900, total_tokens: 909, step_count: 1 }),
    sseEvent('[DONE]'),
  ];

  test("only the user's words are sent, streamed tokens are spoken, reasoning is not", async () => {
    setup = await serve(withLetta);
    setup.services.on(route, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const event of lettaEvents) res.write(event);
      res.end();
    });
    const client = await turn(setup, 'Do you remember me?');
    await ended(client);
    expect(displayTexts(client)).toEqual(['Hello again! ', 'I remember you.']);
    expect(client.ofType('error')).toEqual([]);
    const request = setup.services.requests.find((r) => `${r.method} ${r.path}` === route)!;
    expect(request.json).toEqual({ messages: [{ role: 'user', content: 'Do you remember me?' }], stream_tokens: true });
    expect(request.headers.accept).toBe('text/event-stream');
    expect(setup.fake.chatRequests()).toHaveLength(0);
    await client.close();
  });

  test.each([
    ['an unknown agent (404 with its detail)', (res: Parameters<Parameters<FakeServices['on']>[1]>[1]) => sendJson(res, 404, { detail: 'Agent agent-7 not found' }), /letta_agent answered HTTP 404: .*Agent agent-7 not found/],
    ['a stream cut before [DONE]', (res: Parameters<Parameters<FakeServices['on']>[1]>[1]) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(lettaEvents[1]);
    }, /letta_agent: the stream was cut off before \[DONE\]/],
    ['a 500', (res: Parameters<Parameters<FakeServices['on']>[1]>[1]) => sendJson(res, 500, { detail: 'Internal server error' }), /letta_agent answered HTTP 500/],
  ])('%s is one error frame and the chain still ends', async (_name, answer, message) => {
    setup = await serve(withLetta);
    setup.services.on(route, (_req, res) => answer(res));
    const client = await turn(setup);
    await ended(client);
    const errors = client.ofType('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(message);
    await client.close();
  });

  test('an interrupt mid-stream closes the request at the Letta server', async () => {
    setup = await serve(withLetta);
    setup.services.on(route, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent({ id: 'm2', message_type: 'assistant_message', content: 'Hello again! I' }));
    });
    const arrived = setup.services.nextRequest(route);
    const client = await turn(setup);
    const request: SeenRequest = await arrived;
    await client.next('audio', 1, 8000);
    client.send({ type: 'interrupt-signal', text: 'Hello again!' });
    await request.closed;
    expect(request.closedEarly).toBe(true);
    await client.close();
  });

  test('a letta_agent block without its agent id is a configuration error naming the key', async () => {
    const fixture = makeFixtureRoot();
    editConf(fixture.root, {
      'character_config.agent_config.conversation_agent_choice': 'letta_agent',
      'character_config.agent_config.agent_settings.letta_agent': { host: 'localhost', port: 8283 },
    });
    await expect(startTestServer(fixture.root)).rejects.toThrow(/agent_settings\.letta_agent\.id/);
    fixture.cleanup();
    setup = { stop: async () => undefined } as Setup;
  });
});

describe.each(['mem0_agent', 'hume_ai_agent'])('%s (not built here)', (agent) => {
  let setup: Setup;
  afterEach(() => setup.stop());

  test('a turn answers with one not_built error naming the key; no other model answers instead; one warning', async () => {
    setup = await serve(() => ({ 'character_config.agent_config.conversation_agent_choice': agent }));
    setup.fake.llm = () => ({ tokens: tokens('This must not be said.') });
    const client = await turn(setup);
    await ended(client);
    expect(displayTexts(client)).toEqual([]);
    expect(client.ofType('error')).toEqual([
      {
        type: 'error',
        code: 'not_built',
        message: `Error processing agent response: character_config.agent_config.conversation_agent_choice "${agent}" is not built in this server; choose basic_memory_agent (with an llm_provider) or letta_agent`,
      },
    ]);
    expect(setup.fake.chatRequests()).toHaveLength(0);
    // Said once at start for the configuration, and once in the log of the turn that hit it.
    expect(setup.lines.filter((l) => l.includes(`conf.yaml: character_config.agent_config.conversation_agent_choice "${agent}" is not built`))).toHaveLength(1);
    expect(setup.lines.filter((l) => l.includes(`${agent} failed: `))).toHaveLength(1);
    await client.close();
  });
});

describe('ollama_llm: keep_alive and unload_at_exit', () => {
  let setup: Setup;
  afterEach(() => setup.stop());

  const ollama = (extra: Record<string, unknown>) => (services: FakeServices) => ({
    'character_config.agent_config.agent_settings.basic_memory_agent.llm_provider': 'ollama_llm',
    'character_config.agent_config.llm_configs.ollama_llm': { base_url: `${services.url}/v1`, model: 'qwen2.5:latest', temperature: 0.7, ...extra },
    'character_config.tts_config.tts_model': 'silent_tts',
    'system_config.ollama_unload_timeout_seconds': 0.3,
  });
  const chat = (services: FakeServices) =>
    services.on('POST /v1/chat/completions', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sseEvent({ id: 'c', object: 'chat.completion.chunk', model: 'qwen2.5:latest', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi there.' } }] }));
      res.end(sseEvent('[DONE]'));
    });

  test('keep_alive goes with every chat request; at shutdown the model is unloaded with keep_alive 0', async () => {
    setup = await serve(ollama({ keep_alive: '10m' }));
    chat(setup.services);
    setup.services.on('POST /api/generate', (req, res) => sendJson(res, 200, { model: req.json.model, created_at: '2026-01-01T00:00:00Z', response: '', done: true, done_reason: 'unload' }));
    const client = await turn(setup);
    await ended(client);
    const asked = setup.services.requests.find((r) => r.path === '/v1/chat/completions')!;
    expect(asked.json).toMatchObject({ model: 'qwen2.5:latest', keep_alive: '10m', stream: true });
    await client.close();
    await setup.server.stop();
    const unload = setup.services.requests.filter((r) => r.path === '/api/generate');
    expect(unload.map((r) => r.json)).toEqual([{ model: 'qwen2.5:latest', keep_alive: 0 }]);
    expect(setup.lines.some((l) => l.includes('unloaded qwen2.5:latest'))).toBe(true);
  });

  test("upstream's default keep_alive (-1) is sent; unload_at_exit false leaves the model loaded", async () => {
    setup = await serve(ollama({ unload_at_exit: false }));
    chat(setup.services);
    const client = await turn(setup);
    await ended(client);
    expect(setup.services.requests.find((r) => r.path === '/v1/chat/completions')!.json.keep_alive).toBe(-1);
    await client.close();
    await setup.server.stop();
    expect(setup.services.requests.filter((r) => r.path === '/api/generate')).toEqual([]);
  });

  test('an Ollama that does not answer the unload does not hold the shutdown: the request is given up', async () => {
    setup = await serve(ollama({}));
    setup.services.on('POST /api/generate', () => undefined); // never answers
    const arrived = setup.services.nextRequest('POST /api/generate');
    await setup.server.stop();
    const request = await arrived;
    await request.closed;
    expect(request.closedEarly).toBe(true);
    expect(setup.lines.some((l) => /could not unload qwen2\.5:latest .*no answer within 300 ms/.test(l))).toBe(true);
  });
});
