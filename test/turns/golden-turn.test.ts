import { decodeWav } from '../../src/audio/wav.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, type Frame } from '../helpers/ws-client.js';

const speaker = { name: 'Mao', avatar: 'mao.png' };

describe('one text turn (docs/protocol.md: Turn frames)', () => {
  const harness = useFakeEngineServer();

  async function talk(text: string) {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.frames.length = 0;
    client.send({ type: 'text-input', text, images: [] });
    return client;
  }

  test('frames in order; backend-synth-complete once after the last audio; the first playback-complete ends the turn', async () => {
    harness.fake.llm = () => ({ tokens: tokens('[joy] Hello there! How are you?'), delayMs: 5 });
    const client = await talk('Hi!');
    await client.next('backend-synth-complete');
    await client.roundTrip();
    // Nothing more until the client reports playback finished.
    expect(client.frames.map((f) => f.type)).toEqual(['control', 'full-text', 'audio', 'audio', 'backend-synth-complete', 'heartbeat-ack']);
    const [start, thinking, first, second] = client.frames as [Frame, Frame, Frame, Frame];
    expect(start).toEqual({ type: 'control', text: 'conversation-chain-start' });
    expect(thinking).toEqual({ type: 'full-text', text: 'Thinking...' });
    expect(first).toMatchObject({
      slice_length: 20,
      display_text: { text: 'Hello there! ', ...speaker }, // the tag is shown as the expression, not as text
      actions: { expressions: [3] },
      forwarded: false,
    });
    expect(second).toMatchObject({ display_text: { text: 'How are you?', ...speaker }, actions: {}, forwarded: false });
    expect(Object.keys(first)).toEqual(['type', 'audio', 'volumes', 'slice_length', 'display_text', 'actions', 'forwarded']);

    client.send({ type: 'audio-play-start', display_text: first.display_text, forwarded: true });
    for (let i = 0; i < 10; i++) client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 2);
    await client.roundTrip();
    expect(client.frames.slice(5)).toEqual([
      { type: 'heartbeat-ack' },
      { type: 'force-new-message' },
      { type: 'control', text: 'conversation-chain-end' },
      { type: 'heartbeat-ack' },
    ]);
    await client.close();
  });

  test('each audio is a canonical 44-byte-header 16-bit PCM WAV with one volume per 20 ms, the loudest 1', async () => {
    harness.fake.llm = () => ({ tokens: tokens('This sentence becomes a clip of known length.') });
    const client = await talk('Say something');
    const frame = await client.next('audio');
    const wav = Buffer.from(frame.audio as string, 'base64');
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.toString('ascii', 8, 16)).toBe('WAVEfmt ');
    expect(wav.readUInt32LE(16)).toBe(16); // fmt chunk right after WAVE, 16 bytes
    expect(wav.readUInt16LE(20)).toBe(1); // integer PCM
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.toString('ascii', 36, 40)).toBe('data');
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    const audio = decodeWav(wav);
    const ms = (audio.samples.length / audio.sampleRate) * 1000;
    const volumes = frame.volumes as number[];
    expect(volumes).toHaveLength(Math.ceil(ms / 20));
    expect(Math.max(...volumes)).toBe(1);
    expect(volumes.every((v) => v >= 0 && v <= 1)).toBe(true);
    await client.close();
  });

  test('the LLM gets the system prompt (persona + expression keys) and the user message, streaming', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Fine, thanks.') });
    const before = harness.fake.chatRequests().length;
    const client = await talk('How are you?');
    await client.next('backend-synth-complete');
    const request = harness.fake.chatRequests()[before]!;
    expect(request.headers.authorization).toBe('Bearer test-key');
    expect(request.body).toMatchObject({ model: 'fake-model', stream: true, temperature: 0.5 });
    const [system, user] = request.body.messages;
    expect(system.role).toBe('system');
    expect(system.content).toContain('You are Mao');
    expect(system.content).toContain('[neutral], [anger], [disgust], [fear], [joy], [smirk], [sadness], [surprise],');
    expect(system.content).toContain('[Interrupted by user]'); // openai_compatible_llm interrupts as "user"
    expect(user).toEqual({ role: 'user', content: 'How are you?' });
    expect(request.body.messages).toHaveLength(2);
    await client.close();
  });

  test('images go to the model as image_url parts, and memory keeps only the text', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Nice picture.') });
    const before = harness.fake.chatRequests().length;
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const image = { source: 'camera', data: 'data:image/jpeg;base64,AAAA', mime_type: 'image/jpeg' };
    client.send({ type: 'text-input', text: 'Look', images: [image, { source: 'screen', data: 'not-a-data-url' }] });
    await client.next('backend-synth-complete');
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 3);
    expect(harness.fake.chatRequests()[before]!.body.messages[1]).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'Look\n[User has also provided images]' },
        { type: 'image_url', image_url: { url: image.data, detail: 'auto' } },
      ],
    });
    client.send({ type: 'text-input', text: 'And now?', images: [] });
    await client.next('backend-synth-complete', 2);
    expect(harness.fake.chatRequests()[before + 1]!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'Look' },
      { role: 'assistant', content: 'Nice picture.' },
      { role: 'user', content: 'And now?' },
    ]);
    await client.close();
  });

  test('<think> parts are shown in parentheses but never spoken; [emotion] tags are not spoken', async () => {
    harness.fake.llm = () => ({ tokens: ['<thi', 'nk>Let me see. ', 'Yes.</think>', '[joy] Found it! ', '*waves* Bye.'] });
    const before = harness.fake.speechRequests().length;
    const client = await talk('Find it');
    await client.next('backend-synth-complete');
    const audio = client.ofType('audio');
    expect(audio.map((f) => [(f.display_text as { text: string }).text, f.audio === null])).toEqual([
      ['(', true],
      ['Let me see. ', true],
      ['Yes.', true],
      [')', true],
      ['Found it! ', false],
      ['*waves* Bye.', false],
    ]);
    expect(harness.fake.speechRequests().slice(before).map((r) => r.body.input)).toEqual(['Found it!', 'Bye.']);
    expect(harness.fake.speechRequests()[before]!.body).toMatchObject({ model: 'kokoro', voice: 'af_sky', response_format: 'wav' });
    await client.close();
  });

  test('a turn with nothing to say ends without backend-synth-complete or a wait', async () => {
    harness.fake.llm = () => ({ tokens: [] });
    const client = await talk('...');
    await client.next('control', 2);
    expect(client.frames).toEqual([
      { type: 'control', text: 'conversation-chain-start' },
      { type: 'full-text', text: 'Thinking...' },
      { type: 'force-new-message' },
      { type: 'control', text: 'conversation-chain-end' },
    ]);
    await client.close();
  });
});
