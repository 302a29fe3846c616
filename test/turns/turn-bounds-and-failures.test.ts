import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient } from '../helpers/ws-client.js';
import net from 'node:net';

/** A loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('turn bounds and failures (U7, U10, U11, U12)', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.playback_slack_seconds': 0.3 } });
  beforeEach(() => {
    harness.fake.tts.msPerChar = 10;
    harness.fake.tts.failWhen = undefined;
  });

  async function connected() {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.frames.length = 0;
    return client;
  }

  test('a client that never reports playback still gets chain-end, after the audio sent plus the slack (U7)', async () => {
    // The bound itself (audio + slack, to the millisecond) is asserted on simulated time in test/machines/turn.machine.test.ts.
    harness.fake.llm = () => ({ tokens: tokens('Twenty characters!! And more of it.') });
    harness.fake.tts.msPerChar = 20;
    const client = await connected();
    client.send({ type: 'text-input', text: 'Hi', images: [] });
    await client.next('backend-synth-complete');
    await client.next('control', 2, 5000);
    expect(client.frames.map((f) => f.type).slice(-4)).toEqual(['audio', 'backend-synth-complete', 'force-new-message', 'control']);
    expect(client.frames.slice(-2)).toEqual([{ type: 'force-new-message' }, { type: 'control', text: 'conversation-chain-end' }]);
    const metrics = await (await fetch(`${harness.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^vas_playback_wait_timeouts_total [1-9]/m);
    await client.close();
  });

  test('playback-complete copies before backend-synth-complete, and late ones, never end a turn (U12)', async () => {
    harness.fake.llm = () => ({ tokens: tokens('One sentence here. Another one there.'), delayMs: 20 });
    harness.fake.tts.msPerChar = 60; // over 2 s of audio: the playback bound stays far away while the test looks
    const client = await connected();
    client.send({ type: 'text-input', text: 'first', images: [] });
    await client.next('audio');
    client.send({ type: 'frontend-playback-complete' }); // too early: before backend-synth-complete
    await client.next('backend-synth-complete');
    // A round trip after backend-synth-complete: had the early copy counted, the turn would have ended before it.
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    expect(client.ofType('force-new-message')).toHaveLength(0);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 2);

    // Late copies of the first turn's completion arrive while the second turn is already running.
    harness.fake.llm = () => ({ tokens: tokens('Second reply is here.'), delayMs: 20 });
    client.send({ type: 'text-input', text: 'second', images: [] });
    for (let i = 0; i < 8; i++) client.send({ type: 'frontend-playback-complete' });
    await client.next('backend-synth-complete', 2);
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack', 2);
    expect(client.ofType('force-new-message')).toHaveLength(1);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('force-new-message', 2);
    expect(client.ofType('backend-synth-complete')).toHaveLength(2); // exactly once per turn (U11)
    await client.close();
  });

  test('an LLM HTTP error is an error frame and a clean end; it is never spoken or remembered as the AI\'s words', async () => {
    harness.fake.llm = () => ({ tokens: [], status: 401, errorBody: { error: { message: 'Invalid API key' } } });
    const client = await connected();
    const before = harness.fake.chatRequests().length;
    client.send({ type: 'text-input', text: 'hello?', images: [] });
    await client.next('control', 2);
    expect(client.frames).toEqual([
      { type: 'control', text: 'conversation-chain-start' },
      { type: 'full-text', text: 'Thinking...' },
      { type: 'error', code: 'llm', message: 'Error processing agent response: openai_compatible_llm answered HTTP 401: Invalid API key' },
      { type: 'force-new-message' },
      { type: 'control', text: 'conversation-chain-end' },
    ]);
    harness.fake.llm = () => ({ tokens: tokens('Now it works.') });
    client.send({ type: 'text-input', text: 'again', images: [] });
    await client.next('backend-synth-complete');
    expect(harness.fake.chatRequests()[before + 1]!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'hello?' },
      { role: 'user', content: 'again' },
    ]);
    await client.close();
  });

  test('an error in the middle of the stream keeps what was said, reports the error, and still ends the chain', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Part one is fine. Part two'), streamError: 'model overloaded' });
    const client = await connected();
    client.send({ type: 'text-input', text: 'go', images: [] });
    await client.next('backend-synth-complete');
    expect(client.frames.map((f) => f.type)).toEqual(['control', 'full-text', 'error', 'audio', 'audio', 'backend-synth-complete']);
    expect(client.ofType('error')[0]!.message).toBe('Error processing agent response: openai_compatible_llm: model overloaded');
    expect(client.ofType('audio').map((f) => (f.display_text as { text: string }).text)).toEqual(['Part one is fine. ', 'Part two']);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 2);
    await client.close();
  });

  test('an unreachable LLM says where it could not connect', async () => {
    const port = await closedPort();
    const dead = makeFixtureRoot();
    useFakeEngines(dead.root, `http://127.0.0.1:${port}/v1`);
    const other = await startTestServer(dead.root);
    try {
      const client = await TestClient.connect(other.wsUrl);
      await client.ready();
      client.send({ type: 'text-input', text: 'anyone?', images: [] });
      await client.next('control', 3);
      expect(client.ofType('error')[0]!.message).toBe(
        `Error processing agent response: cannot reach http://127.0.0.1:${port}/v1/chat/completions (ECONNREFUSED)`,
      );
      await client.close();
    } finally {
      await other.stop();
      dead.cleanup();
    }
  });

  test('a sentence whose synthesis fails is still shown, as a silent payload, in its place', async () => {
    harness.fake.llm = () => ({ tokens: tokens('First works. Second breaks. Third works.') });
    harness.fake.tts.failWhen = (text) => text.startsWith('Second');
    const client = await connected();
    client.send({ type: 'text-input', text: 'go', images: [] });
    await client.next('backend-synth-complete');
    expect(client.ofType('audio').map((f) => [(f.display_text as { text: string }).text, f.audio !== null])).toEqual([
      ['First works. ', true],
      ['Second breaks. ', false],
      ['Third works.', true],
    ]);
    await client.close();
  });

  test('sentences are delivered in order (their parallel synthesis: test/machines/turn.machine.test.ts)', async () => {
    harness.fake.llm = () => ({ tokens: tokens('A long first sentence that takes a while to say. Short. Tiny.') });
    harness.fake.tts.msPerChar = 10;
    const client = await connected();
    client.send({ type: 'text-input', text: 'go', images: [] });
    await client.next('backend-synth-complete');
    expect(client.ofType('audio').map((f) => (f.display_text as { text: string }).text)).toEqual([
      'A long first sentence that takes a while to say. ',
      'Short. ',
      'Tiny.',
    ]);
    await client.close();
  });
});
