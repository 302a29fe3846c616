import { decodeWav } from '../../src/audio/wav.js';
import { espeakTtsEngine } from '../../src/engines/tts/espeak-tts.js';
import { findProgram } from '../../src/engines/find-program.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import os from 'node:os';
import { childPids, runningPrograms, settleTo } from '../helpers/process-probes.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';

const espeak = findProgram('espeak-ng');

describe('the shipped conf.yaml: built-in offline talker + espeak-ng, no service needed', () => {
  const fixture = makeFixtureRoot();
  const harness = useTestServer(fixture);

  test('holds a conversation that uses the model\'s emotion tags (as expressions, not as text) and remembers the user\'s name', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'text-input', text: 'Hello! My name is Sam.', images: [] });
    await client.next('backend-synth-complete', 1, 10000);
    const first = client.ofType('audio');
    expect(first.map((f) => (f.display_text as { text: string }).text).join('')).toMatch(/^Nice to meet you, Sam!/);
    expect(first[0]!.actions).toEqual({ expressions: [3] });
    if (espeak) {
      const wav = decodeWav(Buffer.from(first[0]!.audio as string, 'base64'));
      expect(wav.samples.length).toBeGreaterThan(wav.sampleRate / 4); // real speech, a quarter second at least
    }
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 3);
    client.send({ type: 'text-input', text: "What's my name?", images: [] });
    await client.next('backend-synth-complete', 2, 10000);
    const second = client.ofType('audio').slice(first.length);
    expect(second.map((f) => (f.display_text as { text: string }).text).join('')).toBe("You're Sam, of course!");
    expect(second[0]!.actions).toEqual({ expressions: [3] });
    await client.close();
  }, 20000);

  test('another session does not know that name (its memory is its own)', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'text-input', text: "What's my name?", images: [] });
    await client.next('backend-synth-complete', 1, 10000);
    expect(client.ofType('audio').map((f) => (f.display_text as { text: string }).text).join('')).toMatch(/haven't told me your name/);
    await client.close();
  }, 20000);
});

(espeak ? describe : describe.skip)('espeak-ng engine', () => {
  test('speaks a sentence as 16-bit PCM', async () => {
    const engine = espeakTtsEngine({ program: espeak!, voice: 'en-us' });
    const audio = await engine.synthesize('Testing one two three.', new AbortController().signal);
    expect(audio!.channels).toBe(1);
    expect(audio!.samples.some((s) => s !== 0)).toBe(true);
  });

  test('an aborted synthesis kills the espeak-ng process (started by the program launcher, at nice 10)', async () => {
    const engine = espeakTtsEngine({ program: espeak!, speed: 80 });
    const controller = new AbortController();
    const long = 'This is a very long sentence that keeps the speech engine busy for a good while. '.repeat(40);
    const done = engine.synthesize(long, controller.signal).catch((err: Error) => err);
    let pids: number[] = [];
    await until('espeak-ng started', () => (pids = runningPrograms('espeak-ng')).length > 0, 5000);
    // Not a child of the server: starting it did not fork the server's memory.
    expect(childPids().filter((pid) => pids.includes(pid))).toEqual([]);
    expect(os.getPriority(pids[0]!)).toBe(10);
    controller.abort();
    expect(((await done) as Error).name).toBe('AbortError');
    expect(await settleTo(() => runningPrograms('espeak-ng').filter((pid) => pids.includes(pid)), [])).toEqual([]);
  });
});
