import { createActor, fromCallback, fromPromise, setup, SimulatedClock, type EventObject } from 'xstate';
import type { TtsEngine } from '../../machines/engine-contracts.js';
import type { ClientSocket } from '../../machines/socket-contract.js';
import type { CacheAdded, SpeakToFileInput, SpeechFrame, SpeechSocketCommand, SpokenFile } from '../../machines/web-tool-contract.js';
import { webToolSpeechMachine, type SpeechInput } from '../../machines/web-tool-speech.machine.js';

/**
 * machines/web-tool-speech.machine.ts alone (one `/tts-ws` connection) on a simulated clock, invoked by a parent that
 * records the files it is handed for the cache and the connection's end. The fake socket says texts (already cut into
 * sentences) and records the frames it is told to send; each sentence waits until the test answers it.
 */

const TTS: TtsEngine = { provider: 'fake_tts', synthesize: async () => null };
const SOCKET: ClientSocket = { kind: 'client', remote: 'test', toJSON: () => 'test' };
const INPUT: SpeechInput = { socket: SOCKET, engine: TTS, deadlineMs: 5_000, maxWaiting: 2 };

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Sentence {
  input: SpeakToFileInput;
  signal: AbortSignal;
  resolve(file: SpokenFile | null): void;
  reject(err: unknown): void;
}

function speech(input: Partial<SpeechInput> = {}) {
  const clock = new SimulatedClock();
  const sentences: Sentence[] = [];
  const frames: SpeechFrame[] = [];
  const cached: string[] = [];
  const socket = { given: [] as ClientSocket[], say: (_: string[]) => {}, close: () => {}, stopped: false };
  const machine = webToolSpeechMachine.provide({
    actors: {
      speechSocket: fromCallback<SpeechSocketCommand, { socket: ClientSocket }, EventObject>(({ input, sendBack, receive }) => {
        socket.given.push(input.socket);
        socket.say = (s) => sendBack({ type: 'speech.text', sentences: s });
        socket.close = () => sendBack({ type: 'speech.closed' });
        receive((command) => void frames.push(command.frame));
        return () => void (socket.stopped = true);
      }),
      speakToFile: fromPromise<SpokenFile | null, SpeakToFileInput>(
        ({ input, signal }) => new Promise((resolve, reject) => sentences.push({ input, signal, resolve, reject })),
      ),
    },
  });
  let ended = false;
  const parent = setup({ actors: { speech: machine } }).createMachine({
    invoke: { id: 'speech', src: 'speech', input: { ...INPUT, ...input }, onDone: { actions: () => void (ended = true) } },
    on: { 'cache.added': { actions: ({ event }) => void cached.push(`${(event as CacheAdded).name} ${(event as CacheAdded).bytes}`) } },
  });
  const actor = createActor(parent, { clock }).start();
  /** Answers the sentence being spoken, and lets the machine take the answer. */
  const answer = async (file: SpokenFile | null) => {
    sentences.at(-1)!.resolve(file);
    await flush();
  };
  const spoken = () => sentences.map((s) => s.input.text);
  return { actor, clock, sentences, frames, cached, socket, answer, spoken, ended: () => ended };
}

describe('webToolSpeech: sentences answered in order', () => {
  test('one sentence at a time, with the engine; a partial frame per file naming its sentence, complete after the last', async () => {
    const s = speech();
    expect(s.socket.given).toEqual([SOCKET]);
    s.socket.say(['One.', 'Two.']);
    expect(s.sentences.map((x) => x.input)).toEqual([{ engine: TTS, text: 'One.' }]);
    await s.answer({ name: 'one.wav', bytes: 10 });
    expect(s.spoken()).toEqual(['One.', 'Two.']);
    expect(s.frames).toEqual([{ status: 'partial', audioPath: 'cache/one.wav', text: 'One.' }]);
    await s.answer({ name: 'two.wav', bytes: 20 });
    expect(s.frames).toEqual([
      { status: 'partial', audioPath: 'cache/one.wav', text: 'One.' },
      { status: 'partial', audioPath: 'cache/two.wav', text: 'Two.' },
      { status: 'complete' },
    ]);
    expect(s.cached).toEqual(['one.wav 10', 'two.wav 20']);
  });

  test('a sentence with nothing to hear gets no frame and no file; the text is still completed', async () => {
    const s = speech();
    s.socket.say(['…', 'Two.']);
    await s.answer(null);
    await s.answer({ name: 'two.wav', bytes: 20 });
    s.socket.say(['…']);
    await s.answer(null);
    expect(s.frames).toEqual([{ status: 'partial', audioPath: 'cache/two.wav', text: 'Two.' }, { status: 'complete' }, { status: 'complete' }]);
    expect(s.cached).toEqual(['two.wav 20']);
  });

  test('a failing sentence: an error frame with its message, the rest of its text dropped; the next text is spoken', async () => {
    const s = speech();
    s.socket.say(['One.', 'Never.']);
    s.socket.say(['Next.']);
    s.sentences[0]!.reject(new Error('HTTP 500: voice not found'));
    await flush();
    await s.answer({ name: 'next.wav', bytes: 10 });
    expect(s.spoken()).toEqual(['One.', 'Next.']);
    expect(s.frames).toEqual([
      { status: 'error', message: 'HTTP 500: voice not found' },
      { status: 'partial', audioPath: 'cache/next.wav', text: 'Next.' },
      { status: 'complete' },
    ]);
  });
});

describe('webToolSpeech: the per-sentence deadline', () => {
  test('a millisecond before it nothing; at it an error naming the engine and the bound, the synthesis aborted, the rest dropped', async () => {
    const s = speech();
    s.socket.say(['Slow.', 'Never.']);
    s.clock.increment(INPUT.deadlineMs - 1);
    expect(s.frames).toEqual([]);
    expect(s.sentences[0]!.signal.aborted).toBe(false);
    s.clock.increment(1);
    expect(s.frames).toEqual([{ status: 'error', message: 'fake_tts did not answer within 5 s' }]);
    expect(s.sentences[0]!.signal.aborted).toBe(true);
    s.clock.increment(INPUT.deadlineMs * 2);
    expect(s.spoken()).toEqual(['Slow.']);
    expect(s.frames).toHaveLength(1);
  });

  test('each sentence has the whole deadline of its own; an overdue text lets the next one start with its own', async () => {
    const s = speech({ deadlineMs: 250 });
    s.socket.say(['One.', 'Two.']);
    s.socket.say(['Three.']);
    s.clock.increment(249);
    await s.answer({ name: 'one.wav', bytes: 1 });
    s.clock.increment(249);
    expect(s.frames).toEqual([{ status: 'partial', audioPath: 'cache/one.wav', text: 'One.' }]);
    s.clock.increment(1);
    expect(s.frames.at(-1)).toEqual({ status: 'error', message: 'fake_tts did not answer within 250 ms' });
    expect(s.spoken()).toEqual(['One.', 'Two.', 'Three.']);
    s.clock.increment(249);
    await s.answer({ name: 'three.wav', bytes: 1 });
    expect(s.frames.slice(2)).toEqual([{ status: 'partial', audioPath: 'cache/three.wav', text: 'Three.' }, { status: 'complete' }]);
  });
});

describe('webToolSpeech: texts waiting, bounded', () => {
  test('texts said meanwhile wait in arrival order; past maxWaiting one is refused, and taken again once there is room', async () => {
    const s = speech();
    s.socket.say(['A.']);
    s.socket.say(['B.']);
    s.socket.say(['C.']);
    s.socket.say(['D.']);
    const refusal = { status: 'error', message: 'too many texts are waiting to be spoken (at most 2); send this one when they are done' };
    expect(s.frames).toEqual([refusal]);
    await s.answer(null);
    s.socket.say(['E.']);
    s.socket.say(['F.']);
    expect(s.frames).toEqual([refusal, { status: 'complete' }, refusal]);
    await s.answer(null);
    await s.answer(null);
    await s.answer(null);
    expect(s.spoken()).toEqual(['A.', 'B.', 'C.', 'E.']);
    expect(s.frames.filter((f) => f.status === 'complete')).toHaveLength(4);
  });

  test('without an engine each text is answered with why, at once, and nothing is spoken', () => {
    const s = speech({ engine: undefined, unavailable: 'espeak-ng is not installed' });
    s.socket.say(['One.']);
    s.socket.say(['Two.']);
    expect(s.frames).toEqual([
      { status: 'error', message: 'espeak-ng is not installed' },
      { status: 'error', message: 'espeak-ng is not installed' },
    ]);
    expect(s.sentences).toEqual([]);

    const t = speech({ engine: undefined });
    t.socket.say(['One.']);
    expect(t.frames).toEqual([{ status: 'error', message: 'no speech engine is configured' }]);
  });
});

describe('webToolSpeech: stop', () => {
  test("the connection's close ends it: the sentence being spoken is aborted, the socket stopped, nothing more sent", async () => {
    const s = speech();
    s.socket.say(['One.', 'Two.']);
    s.socket.say(['Three.']);
    s.socket.close();
    expect(s.ended()).toBe(true);
    expect(s.sentences[0]!.signal.aborted).toBe(true);
    expect(s.socket.stopped).toBe(true);
    s.clock.increment(INPUT.deadlineMs);
    s.sentences[0]!.resolve({ name: 'late.wav', bytes: 10 });
    await flush();
    expect(s.spoken()).toEqual(['One.']);
    expect(s.cached).toEqual([]);
    expect(s.frames).toEqual([]);
  });

  test('stopped by its parent (the server stops): the sentence aborted and the socket stopped', () => {
    const s = speech();
    s.socket.say(['One.']);
    s.actor.stop();
    expect(s.sentences[0]!.signal.aborted).toBe(true);
    expect(s.socket.stopped).toBe(true);
    expect(s.ended()).toBe(false);
  });
});
