import http from 'node:http';
import type { InspectionEvent } from 'xstate';
import { MAX_ASR_UPLOADS } from '../../src/http/web-tool-routes.js';
import { encodeWav } from '../../src/audio/wav.js';
import { DEFAULT_WEB_TOOL_SETTINGS } from '../../machines/web-tool-contract.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { settleTo } from '../helpers/process-probes.js';
import { uploadRecording, type AsrAnswer } from '../helpers/web-tool-client.js';
import { TestClient } from '../helpers/ws-client.js';

/** Half a second of a 440 Hz tone at 16 kHz: the fake recogniser does not listen, it answers what it is told. */
const RECORDING = encodeWav({
  sampleRate: 16000,
  channels: 1,
  samples: Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000))),
});

type SpeechFrame = { status: 'partial'; audioPath: string; text: string } | { status: 'complete' } | { status: 'error'; message: string };
const statuses = (client: TestClient) => (client.frames as unknown as SpeechFrame[]).map((f) => f.status);

/** The web tool's bounds, with the fake AI server as the default character's engines. */
describe('the web tool under load: bounded requests, withdrawn requests stopped', () => {
  const h = useFakeEngineServer();
  const transcriptionsSeen = () => h.fake.requests.filter((r) => r.path.endsWith('/audio/transcriptions'));

  test('an answer from the configured recogniser: {"text"}', async () => {
    h.fake.asr.text = 'hello from the fake';
    const answer = await uploadRecording(h.server.url, RECORDING);
    expect(answer).toMatchObject({ status: 200, body: { text: 'hello from the fake' } });
  });

  test('past the running and waiting bound the next request gets 503 {"error"}; withdrawn requests stop their engine request', async () => {
    const { asrRunning, asrWaiting } = DEFAULT_WEB_TOOL_SETTINGS;
    h.fake.asr.stall = true;
    const before = transcriptionsSeen().length;
    let accepted = 0;
    const unsubscribe = h.server.census.subscribe((ev: InspectionEvent) => {
      if (ev.type === '@xstate.event' && ev.event.type === 'webTool.transcribe') accepted++;
    });
    const askers = Array.from({ length: asrRunning + asrWaiting }, () => new AbortController());
    const answers = askers.map((asker) => uploadRecording(h.server.url, RECORDING, { signal: asker.signal }).catch((err: Error) => err));
    try {
      expect(await settleTo(() => accepted, asrRunning + asrWaiting, 10_000)).toBe(asrRunning + asrWaiting);
      expect(await settleTo(() => transcriptionsSeen().length - before, asrRunning, 10_000)).toBe(asrRunning);

      const refused = await uploadRecording(h.server.url, RECORDING);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.body).toEqual({ error: expect.stringMatching(/busy \(2 recordings being transcribed, 4 waiting\); try again shortly/) });
    } finally {
      unsubscribe();
      for (const asker of askers) asker.abort();
      h.fake.asr.stall = false;
    }
    for (const answer of await Promise.all(answers)) expect(answer).toMatchObject({ name: 'AbortError' });
    // Every engine request that began was aborted with its asker; nothing of theirs is left running.
    expect(await settleTo(() => transcriptionsSeen().slice(before).every((r) => r.abortedAt !== undefined), true, 10_000)).toBe(true);
    expect(await settleTo(() => h.server.census.countExcept(SERVER_ACTOR_KINDS), 0, 10_000)).toBe(0);
    expect((await uploadRecording(h.server.url, RECORDING)).status).toBe(200);
  });

  test(`past ${MAX_ASR_UPLOADS} uploads still being received, the next is refused (503) before its body is read`, async () => {
    const url = new URL(h.server.url);
    const slow = Array.from({ length: MAX_ASR_UPLOADS }, () => {
      const req = http.request({ host: url.hostname, port: url.port, path: '/asr', method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': '1000000' } });
      req.on('error', () => undefined);
      req.write('--x\r\n');
      return req;
    });
    try {
      let refused: AsrAnswer | undefined;
      // The slow uploads reach the server in their own time: ask until the bound answers.
      for (let i = 0; i < 50 && refused?.status !== 503; i++) refused = await uploadRecording(h.server.url, Buffer.alloc(0));
      expect(refused).toMatchObject({ status: 503, body: { error: `${MAX_ASR_UPLOADS} recordings are being received or transcribed; try again shortly` } });
    } finally {
      for (const req of slow) req.destroy();
    }
    // Their places free up as their connections close.
    let after: AsrAnswer | undefined;
    for (let i = 0; i < 50 && after?.status !== 400; i++) after = await uploadRecording(h.server.url, Buffer.alloc(0));
    expect(after?.status).toBe(400);
  });

  test('a failing recogniser: 500 {"error"} naming it', async () => {
    h.fake.asr.failWhen = () => true;
    h.fake.asr.failStatus = 400;
    try {
      const answer: AsrAnswer = await uploadRecording(h.server.url, RECORDING);
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({ error: expect.stringMatching(/^Speech recognition failed: /) });
    } finally {
      h.fake.asr.failWhen = undefined;
    }
  });

  test('/tts-ws: a sentence the engine fails says so in an error frame, and that text ends there; the next text is spoken', async () => {
    h.fake.tts.failWhen = (text) => text.includes('broken');
    h.fake.tts.failStatus = 400;
    const client = await TestClient.connect(`${h.server.url.replace(/^http/, 'ws')}/tts-ws`);
    try {
      client.send({ text: 'This is fine. This is broken. Never said.' });
      client.send({ text: 'Afterwards.' });
      await client.waitUntil((f) => (f as unknown as SpeechFrame[]).some((x) => x.status === 'complete'), 10_000, 'complete');
      expect(statuses(client)).toEqual(['partial', 'error', 'partial', 'complete']);
      expect(client.frames[1]).toEqual({ status: 'error', message: expect.stringMatching(/^openai_tts: /) });
      expect(client.frames[2]).toMatchObject({ text: 'Afterwards.' });
    } finally {
      h.fake.tts.failWhen = undefined;
      client.ws.close();
    }
  });

  test(`/tts-ws: past ${DEFAULT_WEB_TOOL_SETTINGS.maxSpeechSockets} connections the next is told why and closed (1013)`, async () => {
    const url = `${h.server.url.replace(/^http/, 'ws')}/tts-ws`;
    const open = await Promise.all(Array.from({ length: DEFAULT_WEB_TOOL_SETTINGS.maxSpeechSockets }, () => TestClient.connect(url)));
    try {
      expect(await settleTo(() => h.server.census.byKind().speech ?? 0, open.length, 10_000)).toBe(open.length);
      const extra = await TestClient.connect(url);
      expect(await extra.closed).toBe(1013);
      expect(extra.frames).toEqual([{ status: 'error', message: expect.stringMatching(/16 \/tts-ws connections are open/) }]);
    } finally {
      for (const client of open) client.ws.close();
    }
    expect(await settleTo(() => h.server.census.countExcept(SERVER_ACTOR_KINDS), 0, 10_000)).toBe(0);
  });
});

describe('the web tool past its engine deadlines (asr_timeout_seconds, tts_timeout_seconds)', () => {
  const h = useFakeEngineServer({ conf: { 'system_config.asr_timeout_seconds': 1, 'system_config.tts_timeout_seconds': 1 } });

  test('a recogniser that does not answer: 504 {"error"} with the bound', async () => {
    h.fake.asr.stall = true;
    const answer = await uploadRecording(h.server.url, RECORDING);
    expect(answer.status).toBe(504);
    expect(answer.body).toEqual({ error: expect.stringMatching(/did not answer within 1 s/) });
  });

  test('/tts-ws: a sentence that is not spoken in time gets an error frame with the bound', async () => {
    h.fake.tts.stallWhen = (text) => text.includes('slow');
    const client = await TestClient.connect(`${h.server.url.replace(/^http/, 'ws')}/tts-ws`);
    try {
      client.send({ text: 'A slow one.' });
      await client.waitUntil((f) => f.length > 0, 10_000, 'a frame');
      expect(client.frames).toEqual([{ status: 'error', message: 'openai_tts did not answer within 1 s' }]);
    } finally {
      client.ws.close();
    }
  });
});
