import { createActor, fromCallback, fromPromise, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import type { AsrEngine, TtsEngine } from '../../machines/engine-contracts.js';
import type { ClientSocket } from '../../machines/socket-contract.js';
import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { webToolCacheMachine } from '../../machines/web-tool-cache.machine.js';
import {
  DEFAULT_WEB_TOOL_SETTINGS,
  type CacheFolderCommand,
  type SpeakToFileInput,
  type SpeechFrame,
  type SpeechSocketCommand,
  type SpokenFile,
  type TranscribeReply,
  type WebToolEngines,
  type WebToolSettings,
} from '../../machines/web-tool-contract.js';
import { webToolSpeechMachine } from '../../machines/web-tool-speech.machine.js';
import { webToolMachine } from '../../machines/web-tool.machine.js';
import type { TranscribeInput } from '../../machines/engine-contracts.js';

/**
 * machines/web-tool.machine.ts with fake slots on a simulated clock: the engines come when the test says, each
 * transcription and each sentence waits until the test answers it, sockets and the cache folder record what they
 * are told. The speech connection and the cache keeper are tested alone in web-tool-speech.machine.test.ts and
 * web-tool-cache.machine.test.ts; here, that the web tool runs them, bounded, with its settings.
 */

const ASR: AsrEngine = { provider: 'fake_asr', transcribe: async () => '' };
const TTS: TtsEngine = { provider: 'fake_tts', synthesize: async () => null };
const SETTINGS: WebToolSettings = { ...DEFAULT_WEB_TOOL_SETTINGS, cache: { lifetimeMs: 600_000, maxFiles: 3, maxBytes: 1000 } };

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Pending<I, O> {
  input: I;
  signal: AbortSignal;
  resolve(output: O): void;
  reject(err: unknown): void;
}

function webTool(settings: WebToolSettings = SETTINGS) {
  const clock = new SimulatedClock();
  let giveEngines!: (engines: WebToolEngines) => void;
  const engines = new Promise<WebToolEngines>((resolve) => (giveEngines = resolve));
  const transcriptions: Array<Pending<TranscribeInput, string>> = [];
  const sentences: Array<Pending<SpeakToFileInput, SpokenFile | null>> = [];
  const folder: string[] = [];
  const sockets: Array<{ frames: SpeechFrame[]; say(sentences: string[]): void; close(): void; stopped: boolean }> = [];
  const refused: string[] = [];
  const pending = <I, O>(list: Array<Pending<I, O>>) =>
    fromPromise<O, I>(({ input, signal }) => new Promise<O>((resolve, reject) => list.push({ input, signal, resolve, reject })));

  const machine = webToolMachine.provide({
    actors: {
      engines: fromPromise(() => engines),
      transcription: transcriptionMachine.provide({ actors: { transcribe: pending(transcriptions) } }),
      speech: webToolSpeechMachine.provide({
        actors: {
          speechSocket: fromCallback<SpeechSocketCommand, { socket: ClientSocket }, EventObject>(({ sendBack, receive }) => {
            const socket = { frames: [] as SpeechFrame[], say: (s: string[]) => sendBack({ type: 'speech.text', sentences: s }), close: () => sendBack({ type: 'speech.closed' }), stopped: false };
            sockets.push(socket);
            receive((command) => void socket.frames.push(command.frame));
            return () => void (socket.stopped = true);
          }),
          speakToFile: pending(sentences),
        },
      }),
      webToolCache: webToolCacheMachine.provide({
        actors: {
          cacheFolder: fromCallback<CacheFolderCommand, void, EventObject>(({ receive }) => {
            folder.push('start');
            receive((c) => void folder.push(`delete ${c.name}`));
            return () => void folder.push('stop');
          }),
        },
      }),
    },
    actions: { refuseSpeechSocket: (_, params) => void refused.push(params.message) },
  });
  const actor = createActor(machine, { input: settings, clock }).start();
  const replies: TranscribeReply[] = [];
  const requester: AnyActorRef = createActor(fromCallback<EventObject>(({ receive }) => receive((e) => void replies.push(e as TranscribeReply)))).start();
  const transcribe = (jobId: string) => actor.send({ type: 'webTool.transcribe', jobId, samples: new Float32Array(16), replyTo: requester });
  const connect = () => actor.send({ type: 'webTool.speechSocket', socket: { kind: 'client', remote: 'test', toJSON: () => 'test' } });
  const ready = async (given: WebToolEngines = { asr: ASR, tts: TTS }) => {
    giveEngines(given);
    await flush();
  };
  const answered = () => replies.map((r) => `${r.jobId} ${r.outcome.kind}${r.outcome.kind === 'text' ? ` ${r.outcome.text}` : ''}`);
  return { actor, clock, transcriptions, sentences, folder, sockets, refused, replies, answered, transcribe, connect, ready };
}

describe('webTool: transcriptions, bounded', () => {
  test('requests made while the engines are being made ready wait for them; then at most asrRunning run, in arrival order', async () => {
    const t = webTool();
    for (const id of ['a', 'b', 'c']) t.transcribe(id);
    expect(t.transcriptions).toHaveLength(0);
    await t.ready();
    expect(t.transcriptions).toHaveLength(2);
    t.transcriptions[0]!.resolve('first words');
    await flush();
    expect(t.answered()).toEqual(['a text first words']);
    expect(t.transcriptions).toHaveLength(3);
  });

  test('past asrRunning + asrWaiting the next request is answered busy at once', async () => {
    const t = webTool();
    await t.ready();
    const total = SETTINGS.asrRunning + SETTINGS.asrWaiting;
    for (let i = 0; i < total; i++) t.transcribe(`job${i}`);
    expect(t.replies).toEqual([]);
    t.transcribe('one-too-many');
    expect(t.answered()).toEqual(['one-too-many busy']);
    expect(t.replies[0]!.outcome).toEqual({ kind: 'busy', message: expect.stringMatching(/2 recordings being transcribed, 4 waiting/) });
  });

  test('a withdrawn request: waiting, it never runs; running, its recogniser call is aborted and the next starts', async () => {
    const t = webTool();
    await t.ready();
    for (const id of ['a', 'b', 'c', 'd']) t.transcribe(id);
    t.actor.send({ type: 'webTool.cancel', jobId: 'c' });
    t.actor.send({ type: 'webTool.cancel', jobId: 'a' });
    expect(t.transcriptions[0]!.signal.aborted).toBe(true);
    expect(t.transcriptions).toHaveLength(3);
    t.transcriptions[1]!.resolve('bee');
    t.transcriptions[2]!.resolve('dee');
    await flush();
    expect(t.answered()).toEqual(['b text bee', 'd text dee']);
    expect(Object.keys(t.actor.getSnapshot().children).filter((id) => id.startsWith('asr.'))).toEqual([]);
  });

  test('a recogniser past its deadline is stopped and the request answered timeout', async () => {
    const t = webTool();
    await t.ready();
    t.transcribe('slow');
    t.clock.increment(SETTINGS.transcriptionMs - 1);
    expect(t.replies).toEqual([]);
    t.clock.increment(1);
    expect(t.answered()).toEqual(['slow timeout']);
    expect(t.transcriptions[0]!.signal.aborted).toBe(true);
  });

  test('without a recogniser every request, waiting or new, is answered unavailable with the reason', async () => {
    const t = webTool();
    t.transcribe('early');
    await t.ready({ tts: TTS, asrUnavailable: 'pocketsphinx_continuous is not installed' });
    t.transcribe('late');
    expect(t.answered()).toEqual(['early unavailable', 'late unavailable']);
    expect(t.replies[1]!.outcome).toEqual({ kind: 'unavailable', message: 'pocketsphinx_continuous is not installed' });
  });
});

describe('webTool: /tts-ws connections', () => {
  // What one connection does with its texts (order, files, errors, the queue, the deadline) is tested on it alone:
  // web-tool-speech.machine.test.ts.
  test('a connection made while the engines are being made ready is served once they are, with the speech engine', async () => {
    const t = webTool();
    t.connect();
    expect(t.sockets).toEqual([]);
    await t.ready();
    t.sockets[0]!.say(['One.']);
    expect(t.sentences.map((s) => s.input)).toEqual([{ engine: TTS, text: 'One.' }]);
    t.sentences[0]!.resolve({ name: 'one.wav', bytes: 10 });
    await flush();
    expect(t.sockets[0]!.frames).toEqual([{ status: 'partial', audioPath: 'cache/one.wav', text: 'One.' }, { status: 'complete' }]);
  });

  test("each connection speaks with the web tool's settings: synthesisMs per sentence, maxWaitingTexts waiting", async () => {
    const t = webTool({ ...SETTINGS, synthesisMs: 2_000, maxWaitingTexts: 1 });
    t.connect();
    await t.ready();
    for (const text of ['One.', 'Two.', 'Three.']) t.sockets[0]!.say([text]);
    t.clock.increment(2_000);
    expect(t.sockets[0]!.frames).toEqual([
      { status: 'error', message: 'too many texts are waiting to be spoken (at most 1); send this one when they are done' },
      { status: 'error', message: 'fake_tts did not answer within 2 s' },
    ]);
    expect(t.sentences.map((s) => s.input.text)).toEqual(['One.', 'Two.']);
  });

  test('a closed connection stops its sentence and is released; past maxSpeechSockets a connection is refused', async () => {
    const t = webTool({ ...SETTINGS, maxSpeechSockets: 2 });
    await t.ready();
    t.connect();
    t.connect();
    t.connect();
    expect(t.refused).toEqual([expect.stringMatching(/^2 \/tts-ws connections are open/)]);
    t.sockets[0]!.say(['Hello.']);
    t.sockets[0]!.close();
    expect(t.sentences[0]!.signal.aborted).toBe(true);
    expect(t.sockets[0]!.stopped).toBe(true);
    t.connect();
    expect(t.sockets).toHaveLength(3);
    expect(t.refused).toHaveLength(1);
  });

  test('without a speech engine each text is answered with an error frame saying why', async () => {
    const t = webTool();
    t.connect();
    await t.ready({ asr: ASR, ttsUnavailable: 'espeak-ng is not installed' });
    t.sockets[0]!.say(['Hello.']);
    expect(t.sockets[0]!.frames).toEqual([{ status: 'error', message: 'espeak-ng is not installed' }]);
  });
});

describe('webTool: what it owns', () => {
  // The keeper's own bounds (lifetime, count, bytes) are tested on it alone: web-tool-cache.machine.test.ts.
  test("a connection's files go to the cache keeper, which runs with the web tool's cache settings", async () => {
    const t = webTool();
    t.connect();
    await t.ready();
    t.sockets[0]!.say(['One.']);
    t.sentences[0]!.resolve({ name: 'one.wav', bytes: 10 });
    await flush();
    t.clock.increment(SETTINGS.cache.lifetimeMs - 1);
    expect(t.folder).toEqual(['start']);
    t.clock.increment(1);
    expect(t.folder).toEqual(['start', 'delete one.wav']);
  });

  test('stopping the web tool stops everything it runs', async () => {
    const t = webTool();
    await t.ready();
    t.transcribe('a');
    t.connect();
    t.sockets[0]!.say(['Hello.']);
    t.actor.stop();
    expect(t.transcriptions[0]!.signal.aborted).toBe(true);
    expect(t.sentences[0]!.signal.aborted).toBe(true);
    expect(t.sockets[0]!.stopped).toBe(true);
    expect(t.folder).toEqual(['start', 'stop']);
  });
});
