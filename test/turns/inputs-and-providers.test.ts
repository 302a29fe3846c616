import { decodeWav } from '../../src/audio/wav.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

/** The multipart body's WAV file, found by its RIFF magic. */
function wavIn(body: Buffer) {
  const at = body.indexOf('RIFF');
  return decodeWav(body.subarray(at));
}

describe('voice, proactive speech, Claude, and memory per session', () => {
  const harness = useFakeEngineServer({
    conf: { 'system_config.mic_max_seconds': 1 },
    prepare: (fixture) => {
      fixture.write('characters/claude.yaml', "character_config:\n  conf_name: 'claude_mao'\n  conf_uid: 'claude_mao'\n  agent_config:\n    agent_settings:\n      basic_memory_agent:\n        llm_provider: 'claude_llm'\n");
    },
  });

  async function connected() {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.frames.length = 0;
    return client;
  }

  test('mic-audio-data × N + mic-audio-end: the recogniser gets one 16 kHz WAV, the client its transcription', async () => {
    harness.fake.asr.text = 'what time is it';
    harness.fake.llm = () => ({ tokens: tokens('It is tea time.') });
    const client = await connected();
    const before = harness.fake.requests.length;
    const chunk = Array.from({ length: 4096 }, (_, i) => Math.sin(i / 10) * 0.5);
    for (let i = 0; i < 3; i++) client.send({ type: 'mic-audio-data', audio: chunk });
    client.send({ type: 'mic-audio-end', images: [] });
    await client.next('backend-synth-complete');
    expect(client.frames.slice(0, 3)).toEqual([
      { type: 'control', text: 'conversation-chain-start' },
      { type: 'full-text', text: 'Thinking...' },
      { type: 'user-input-transcription', text: 'what time is it' },
    ]);
    const asrRequest = harness.fake.requests.slice(before).find((r) => r.path.endsWith('/audio/transcriptions'))!;
    const wav = wavIn(asrRequest.body as Buffer);
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length).toBe(3 * 4096);
    expect(wav.samples[10]).toBe(Math.round(Math.sin(1) * 0.5 * 32767));
    const chat = harness.fake.requests.slice(before).find((r) => r.path.endsWith('/chat/completions'))!;
    expect(chat.body.messages.at(-1)).toEqual({ role: 'user', content: 'what time is it' });
    await client.close();
  });

  test('mic audio beyond the cap is dropped with a clear error (U5); mic-audio-end without audio is refused', async () => {
    const client = await connected();
    const chunk = new Array(4096).fill(0.01);
    for (let i = 0; i < 4; i++) client.send({ type: 'mic-audio-data', audio: chunk }); // 16,384 samples > 1 s
    client.send({ type: 'mic-audio-end', images: [] });
    await client.next('error', 2);
    expect(client.frames).toEqual([
      { type: 'error', code: 'mic_too_long', message: 'Voice input longer than 1 s was dropped; please speak in shorter parts' },
      { type: 'error', code: 'no_mic_audio', message: 'mic-audio-end arrived without any mic-audio-data: there is nothing to transcribe' },
    ]);
    await client.close();
  });

  test('nothing recognised: the transcription is empty and the model is not asked', async () => {
    harness.fake.asr.text = '';
    const client = await connected();
    const before = harness.fake.chatRequests().length;
    client.send({ type: 'mic-audio-data', audio: [0.1, 0.2] });
    client.send({ type: 'mic-audio-end', images: [] });
    await client.next('control', 2);
    expect(client.frames.map((f) => f.type)).toEqual(['control', 'full-text', 'user-input-transcription', 'force-new-message', 'control']);
    expect(harness.fake.chatRequests().length).toBe(before);
    await client.close();
  });

  test('ai-speak-signal: the announcement first, the prompt hidden from memory, the reply remembered (docs/protocol.md: Turn frames)', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Hey, still there?') });
    const client = await connected();
    const before = harness.fake.chatRequests().length;
    client.send({ type: 'ai-speak-signal', idle_time: 5, images: [] });
    await client.next('backend-synth-complete');
    expect(client.frames.slice(0, 3)).toEqual([
      { type: 'full-text', text: 'AI wants to speak something...' },
      { type: 'control', text: 'conversation-chain-start' },
      { type: 'full-text', text: 'Thinking...' },
    ]);
    const prompt = harness.fake.chatRequests()[before]!.body.messages.at(-1);
    expect(prompt.role).toBe('user');
    expect(prompt.content).toMatch(/quiet for a while/);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 2);
    harness.fake.llm = () => ({ tokens: tokens('Great!') });
    client.send({ type: 'text-input', text: 'I am here', images: [] });
    await client.next('backend-synth-complete', 2);
    expect(harness.fake.chatRequests()[before + 1]!.body.messages.slice(1)).toEqual([
      { role: 'assistant', content: 'Hey, still there?' },
      { role: 'user', content: 'I am here' },
    ]);
    await client.close();
  });

  test('claude_llm: Messages API stream with the system prompt apart and alternating roles', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Bonjour! I am Claude-flavoured.') });
    const client = await connected();
    client.send({ type: 'switch-config', file: 'claude.yaml' });
    await client.next('config-switched');
    client.frames.length = 0;
    const before = harness.fake.chatRequests().length;
    client.send({ type: 'text-input', text: 'Salut', images: [] });
    await client.next('backend-synth-complete');
    const request = harness.fake.chatRequests()[before]!;
    expect(request.path).toBe('/v1/messages');
    expect(request.headers['x-api-key']).toBe('claude-key');
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.body).toMatchObject({ model: 'claude-fake', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'Salut' }] });
    expect(request.body.system).toContain('You are Mao');
    expect(client.ofType('audio').map((f) => (f.display_text as { text: string }).text)).toEqual(['Bonjour! ', 'I am Claude-flavoured.']);
    await client.close();
  });

  test('two sessions chatting at once never see each other\'s turns (U1)', async () => {
    harness.fake.llm = (body) => ({ tokens: tokens(`Reply to ${String(body.messages.at(-1).content)}.`), delayMs: 5 });
    const [alice, bob] = await Promise.all([connected(), connected()]);
    const before = harness.fake.chatRequests().length;
    for (let round = 1; round <= 3; round++) {
      alice.send({ type: 'text-input', text: `alice ${round}`, images: [] });
      bob.send({ type: 'text-input', text: `bob ${round}`, images: [] });
      await Promise.all([alice.next('backend-synth-complete', round), bob.next('backend-synth-complete', round)]);
      alice.send({ type: 'frontend-playback-complete' });
      bob.send({ type: 'frontend-playback-complete' });
      await Promise.all([alice.next('control', round * 2), bob.next('control', round * 2)]);
    }
    const requests = harness.fake.chatRequests().slice(before);
    expect(requests).toHaveLength(6);
    for (const request of requests) {
      const contents = request.body.messages.slice(1).map((m: { content: string }) => m.content).join(' | ');
      const who = request.body.messages.at(-1).content.split(' ')[0];
      const other = who === 'alice' ? 'bob' : 'alice';
      expect(contents).not.toContain(other);
    }
    const lastAlice = requests.filter((r) => r.body.messages.at(-1).content === 'alice 3')[0]!;
    expect(lastAlice.body.messages.slice(1).map((m: { content: string }) => m.content)).toEqual([
      'alice 1',
      'Reply to alice 1.',
      'alice 2',
      'Reply to alice 2.',
      'alice 3',
    ]);
    await Promise.all([alice.close(), bob.close()]);
  });
});
