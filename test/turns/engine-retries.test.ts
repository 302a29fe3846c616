import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';
import { isChainEnd } from '../helpers/frames.js';

type F = Record<string, any>;


/** Retries over a real socket (docs/decisions.md, 16): a provider's passing 429/5xx is retried before any output, never after. */
describe('engine retries', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.playback_slack_seconds': 0.2 } });

  async function talk(text: string): Promise<TestClient> {
    const c = await TestClient.connect(harness.server.wsUrl);
    await c.ready();
    c.frames.length = 0;
    c.send({ type: 'text-input', text, images: [] });
    await c.waitUntil((fs) => fs.some(isChainEnd), 8000, 'chain end');
    return c;
  }

  test('a 503 then success: one retry, one reply, no error', async () => {
    let calls = 0;
    harness.fake.llm = () => (++calls === 1 ? { status: 503, tokens: [] } : { tokens: tokens('Second time lucky.') });
    const before = harness.fake.chatRequests().length;
    const c = await talk('hello');
    expect(harness.fake.chatRequests().length - before).toBe(2);
    expect(c.ofType('error')).toEqual([]);
    expect(c.ofType('audio').map((f: F) => f.display_text.text)).toEqual(['Second time lucky.']);
    await c.close();
  });

  test('a 429 with Retry-After: 0 is retried at once', async () => {
    let calls = 0;
    harness.fake.llm = () => (++calls === 1 ? { status: 429, errorHeaders: { 'retry-after': '0' }, tokens: [] } : { tokens: tokens('Fine now.') });
    const c = await talk('hello');
    expect(calls).toBe(2);
    expect(c.ofType('audio').map((f: F) => f.display_text.text)).toEqual(['Fine now.']);
    await c.close();
  });

  test('a connection reset after the answer began but before its first token: one retry, one reply', async () => {
    let calls = 0;
    harness.fake.llm = () => (++calls === 1 ? { tokens: [], cut: true } : { tokens: tokens('Back again.') });
    const before = harness.fake.chatRequests().length;
    const c = await talk('hello');
    expect(harness.fake.chatRequests().length - before).toBe(2);
    expect(c.ofType('error')).toEqual([]);
    expect(c.ofType('audio').map((f: F) => f.display_text.text)).toEqual(['Back again.']);
    await c.close();
  });

  test('a connection reset after the first token: no retry, one error, the token kept', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Half of it. '), cut: true });
    const before = harness.fake.chatRequests().length;
    const c = await talk('hello');
    expect(harness.fake.chatRequests().length - before).toBe(1);
    expect(c.ofType('error').map((f: F) => f.code)).toEqual(['llm']);
    expect(c.ofType('audio').map((f: F) => f.display_text.text)).toEqual(['Half of it. ']);
    await c.close();
  });

  test('a 503 after the first token (an error in the stream): no retry, one error, the token kept', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Partial answer. '), streamError: 'HTTP 503 Service Unavailable: overloaded' });
    const before = harness.fake.chatRequests().length;
    const c = await talk('hello');
    expect(harness.fake.chatRequests().length - before).toBe(1);
    expect(c.ofType('error')).toEqual([
      { type: 'error', code: 'llm', message: 'Error processing agent response: openai_compatible_llm: HTTP 503 Service Unavailable: overloaded' },
    ]);
    expect(c.ofType('audio').map((f: F) => f.display_text.text)).toEqual(['Partial answer. ']);
    await c.close();
  });

  test('a 503 that persists: two retries, then one error', async () => {
    harness.fake.llm = () => ({ status: 503, tokens: [] });
    const before = harness.fake.chatRequests().length;
    const c = await talk('hello');
    expect(harness.fake.chatRequests().length - before).toBe(3);
    expect(c.ofType('error').map((f: F) => f.code)).toEqual(['llm']);
    await c.close();
  });

  test('speech synthesis: a 503 then success is retried and the sentence has its audio', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Say this aloud.') });
    let failures = 0;
    harness.fake.tts.failStatus = 503;
    harness.fake.tts.failWhen = () => failures++ === 0;
    try {
      const before = harness.fake.speechRequests().length;
      const c = await talk('speak');
      expect(harness.fake.speechRequests().length - before).toBe(2);
      expect(c.ofType('audio').map((f: F) => [f.display_text.text, f.audio !== null])).toEqual([['Say this aloud.', true]]);
      await c.close();
    } finally {
      harness.fake.tts.failWhen = undefined;
      harness.fake.tts.failStatus = undefined;
    }
  });

  test('speech recognition: a 502 then success is retried and the words reach the model', async () => {
    harness.fake.llm = () => ({ tokens: tokens('I heard you.') });
    let failures = 0;
    harness.fake.asr.failStatus = 502;
    harness.fake.asr.failWhen = () => failures++ === 0;
    const transcriptions = () => harness.fake.requests.filter((r) => r.path.endsWith('/audio/transcriptions')).length;
    try {
      const before = transcriptions();
      const c = await TestClient.connect(harness.server.wsUrl);
      await c.ready();
      c.send({ type: 'mic-audio-data', audio: Array.from({ length: 1600 }, (_, i) => Math.sin(i / 10) * 0.3) });
      c.send({ type: 'mic-audio-end', images: [] });
      await c.waitUntil((fs) => fs.some(isChainEnd), 8000, 'chain end');
      expect(transcriptions() - before).toBe(2);
      expect(c.ofType('user-input-transcription').map((f: F) => f.text)).toEqual([harness.fake.asr.text]);
      expect(c.ofType('error')).toEqual([]);
      await c.close();
    } finally {
      harness.fake.asr.failWhen = undefined;
      harness.fake.asr.failStatus = undefined;
    }
  });
});
