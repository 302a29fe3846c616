import { decodeWav, encodeWav } from '../../src/audio/wav.js';
import { findProgram } from '../../src/engines/find-program.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { espeakProgram, espeakWav, uploadRecording } from '../helpers/web-tool-client.js';

const pocketsphinx = findProgram('pocketsphinx_continuous');
const WORDS = /\b(hello|how|are|you|today)\b/;
/** pocketsphinx takes seconds alone, far longer on a busy machine: past asr_timeout_seconds (60 s) the server's 504 says so first. */
const RECOGNITION_MS = 90_000;

/** The same speech at 44.1 kHz in two channels: a recording the recogniser does not hear as it was made. */
function stereo44k(wav: Buffer): Buffer {
  const audio = decodeWav(wav);
  const frames = Math.floor((audio.samples.length * 44100) / audio.sampleRate);
  const samples = new Int16Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const s = audio.samples[Math.floor((i * audio.sampleRate) / 44100)] ?? 0;
    samples[2 * i] = s;
    samples[2 * i + 1] = s;
  }
  return encodeWav({ sampleRate: 44100, channels: 2, samples });
}

/** A WAV header claiming A-law (format 6), which is not PCM. */
function aLawWav(): Buffer {
  const wav = encodeWav({ sampleRate: 8000, channels: 1, samples: new Int16Array(800) });
  wav.writeUInt16LE(6, 20);
  return wav;
}

(pocketsphinx && espeakProgram ? describe : describe.skip)('POST /asr (needs espeak-ng and pocketsphinx: the offline stack)', () => {
  const fixture = makeFixtureRoot();
  const harness = useTestServer(fixture);
  let speech: Buffer;
  beforeAll(() => {
    speech = espeakWav('hello how are you today');
  });

  test('a WAV recorded at 22050 Hz is read from its header, resampled to 16 kHz and transcribed: {"text"}', async () => {
    expect(decodeWav(speech).sampleRate).toBe(22050);
    const answer = await uploadRecording(harness.server.url, speech);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(answer.body)).toEqual(['text']);
    expect(answer.body.text).toMatch(WORDS);
  }, RECOGNITION_MS);

  test('a stereo recording at 44.1 kHz is mixed down and resampled too', async () => {
    const answer = await uploadRecording(harness.server.url, stereo44k(speech));
    expect(answer.status).toBe(200);
    expect(answer.body.text).toMatch(WORDS);
  }, RECOGNITION_MS);

  test.each([
    ['an empty file', Buffer.alloc(0), /empty/],
    ['a file that is not a WAV', Buffer.from('this is not audio at all, just some words in a file'), /not a WAV file/],
    ['a WAV of A-law samples', aLawWav(), /cannot be read: unsupported WAV format 6/],
    ['a WAV whose data chunk is empty', encodeWav({ sampleRate: 16000, channels: 1, samples: new Int16Array(0) }), /holds no audio/],
    ['a WAV header cut off before its data chunk', headerOnly(), /cannot be read/],
  ])('%s: 400 {"error"} saying what to send', async (_what, bytes, problem) => {
    const answer = await uploadRecording(harness.server.url, bytes);
    expect(answer.status).toBe(400);
    expect(Object.keys(answer.body)).toEqual(['error']);
    expect(answer.body.error).toMatch(problem);
    expect(answer.body.error).toMatch(/16-bit PCM/);
  });

  test('a form without a field named "file": 400 naming the field', async () => {
    const answer = await uploadRecording(harness.server.url, speech, { field: 'audio' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/field named "file"/);
  });

  test('a body that is not a form: 400 naming multipart/form-data', async () => {
    const res = await fetch(`${harness.server.url}/asr`, { method: 'POST', body: new Uint8Array(speech), headers: { 'content-type': 'audio/wav' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/multipart\/form-data/);
  });

  test('an upload over 16 MB: 413 {"error"} with the bound', async () => {
    const answer = await uploadRecording(harness.server.url, Buffer.alloc(17 * 1024 * 1024));
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatch(/larger than 16 MB/);
  });

  test('a page of another site may not use it (403), a loopback page may', async () => {
    const refused = await fetch(`${harness.server.url}/asr`, { method: 'POST', body: new FormData(), headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(403);
    // Reaching the route is enough here: an empty file is refused by the route itself, with its JSON.
    const local = await uploadRecording(harness.server.url, Buffer.alloc(0), { headers: { origin: 'http://localhost:5173' } });
    expect(local.status).toBe(400);
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });
});

/** The first 40 bytes of a WAV: RIFF, WAVE and `fmt `, but no data chunk. */
function headerOnly(): Buffer {
  return encodeWav({ sampleRate: 16000, channels: 1, samples: new Int16Array(0) }).subarray(0, 36);
}
