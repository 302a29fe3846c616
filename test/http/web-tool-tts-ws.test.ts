import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { espeakProgram } from '../helpers/web-tool-client.js';
import { TestClient } from '../helpers/ws-client.js';

type SpeechFrame = { status: 'partial'; audioPath: string; text: string } | { status: 'complete' } | { status: 'error'; message: string };

const framesOf = (client: TestClient) => client.frames as unknown as SpeechFrame[];
const ended = (frames: SpeechFrame[], n = 1) => frames.filter((f) => f.status !== 'partial').length >= n;

(espeakProgram ? describe : describe.skip)('/tts-ws (needs espeak-ng: the offline stack)', () => {
  const fixture = makeFixtureRoot();
  // An audio file an earlier run left behind: the server's first act on its cache folder removes it.
  const stale = fixture.write('cache/20240101_000000_0badcafe.wav', Buffer.from('RIFF'));
  const harness = useTestServer(fixture);
  const wsUrl = () => `${harness.server.url.replace(/^http/, 'ws')}/tts-ws`;

  test('one partial frame per sentence (not cut inside decimals or addresses), each a WAV at /cache/, then complete', async () => {
    const client = await TestClient.connect(wsUrl());
    client.send({ text: 'It costs 3.5 dollars. See example.com for more! Bye.' });
    await client.waitUntil((f) => ended(f as unknown as SpeechFrame[]), 20_000, 'complete');
    const frames = framesOf(client);
    expect(frames.map((f) => (f.status === 'partial' ? f.text : f.status))).toEqual(['It costs 3.5 dollars.', 'See example.com for more!', 'Bye.', 'complete']);
    for (const frame of frames) {
      if (frame.status !== 'partial') continue;
      expect(frame.audioPath).toMatch(/^cache\/\d{8}_\d{6}_[0-9a-f]{8}\.wav$/);
      const res = await fetch(`${harness.server.url}/${frame.audioPath}`);
      expect(res.status).toBe(200);
      const wav = Buffer.from(await res.arrayBuffer());
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.toString('ascii', 8, 12)).toBe('WAVE');
      expect(wav.length).toBeGreaterThan(44);
    }
    client.ws.close();
  });

  test('a frame with an empty or missing text is ignored; one that is not {"text": string} gets an error frame', async () => {
    const client = await TestClient.connect(wsUrl());
    client.send({ text: '' });
    client.send({ other: 'key' });
    client.send('not json');
    client.send({ text: 42 });
    client.send({ text: 'Hi.' });
    await client.waitUntil((f) => f.some((x) => (x as unknown as SpeechFrame).status === 'complete'), 20_000, 'complete');
    const frames = framesOf(client);
    expect(frames.map((f) => f.status)).toEqual(['error', 'error', 'partial', 'complete']);
    expect(frames[0]).toEqual({ status: 'error', message: expect.stringMatching(/not JSON/) });
    expect(frames[1]).toEqual({ status: 'error', message: expect.stringMatching(/"text" must be a string/) });
    expect(frames[2]).toMatchObject({ status: 'partial', text: 'Hi.' });
    client.ws.close();
  });

  test('texts sent while one is spoken wait their turn: each ends with its own complete, in order', async () => {
    const client = await TestClient.connect(wsUrl());
    client.send({ text: 'First one.' });
    client.send({ text: 'Second one.' });
    await client.waitUntil((f) => ended(f as unknown as SpeechFrame[], 2), 20_000, 'two completes');
    expect(framesOf(client).map((f) => (f.status === 'partial' ? f.text : f.status))).toEqual(['First one.', 'complete', 'Second one.', 'complete']);
    client.ws.close();
  });

  test('a page of another site cannot open it (403)', async () => {
    const refused = new TestClient(wsUrl(), { headers: { origin: 'https://evil.example' } });
    await expect(refused.opened).rejects.toThrow('HTTP 403');
  });

  test('the audio files are in the cache folder under the run-time folder; the stale one is gone', () => {
    expect(existsSync(stale)).toBe(false);
    expect(readdirSync(path.join(fixture.root, 'cache')).length).toBeGreaterThan(0);
  });

  test('when the server stops, its open /tts-ws connections close (1001) and the cache folder is emptied', async () => {
    const client = await TestClient.connect(wsUrl());
    await harness.server.stop();
    expect(await client.closed).toBe(1001);
    expect(readdirSync(path.join(fixture.root, 'cache'))).toEqual([]);
    expect(client.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
