import { createActor, fromPromise, setup, SimulatedClock, type AnyActorRef } from 'xstate';
import type { SynthesizeInput, TtsEngine } from '../../machines/engine-contracts.js';
import { ttsPipelineMachine, type PipelineEvent, type PipelineInput, type PipelineOutputEvent, type SpeechJob, type SynthResult } from '../../machines/tts-pipeline.machine.js';

/**
 * machines/tts-pipeline.machine.ts under a parent that stands for the turn (it records what the pipeline delivers),
 * with a fake `synthesize` whose calls wait until the test answers them, on a simulated clock.
 */

const ENGINE: TtsEngine = { provider: 'fake_tts', synthesize: async () => null };
const SPEAKER = { name: 'Mao', avatar: 'mao.png' };

function pipeline(input: Partial<PipelineInput> = {}) {
  const got: PipelineOutputEvent[] = [];
  const calls: Array<{ text: string; signal: AbortSignal; resolve: (r: SynthResult) => void; reject: (e: unknown) => void }> = [];
  const tts = ttsPipelineMachine.provide({
    actors: {
      synthesize: fromPromise<SynthResult, SynthesizeInput>(
        ({ input, signal }) => new Promise((resolve, reject) => calls.push({ text: input.text, signal, resolve, reject })),
      ),
    },
  });
  const parent = setup({ actors: { tts } }).createMachine({
    initial: 'speaking',
    states: {
      speaking: {
        invoke: { id: 'tts', src: 'tts', input: { concurrency: 2, speaker: SPEAKER, engine: ENGINE, synthesisDeadlineMs: 8000, ...input } },
        on: { stop: 'stopped' },
      },
      stopped: {},
    },
    on: { 'tts.*': { actions: ({ event }) => void got.push(event as PipelineOutputEvent) } },
  });
  const clock = new SimulatedClock();
  const actor = createActor(parent, { clock }).start();
  const child = () => actor.getSnapshot().children.tts as AnyActorRef | undefined;
  const send = (event: PipelineEvent) => child()!.send(event);
  const sentence = (seq: number, display: string, extra: Partial<SpeechJob> = {}) =>
    send({ type: 'tts.sentence', job: { seq, display, speech: display.trim(), expressions: [], ...extra } });
  const answer = (text: string, result: Partial<SynthResult> = {}) =>
    calls.find((c) => c.text === text)!.resolve({ audio: `wav(${text})`, volumes: [0.5], durationMs: 100 * text.length, ...result });
  const stop = () => actor.send({ type: 'stop' });
  return { actor, clock, got, calls, send, sentence, answer, child, stop };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
/** What was delivered, in order: a payload's text and whether it has audio, or the passthrough frame's type. */
const outline = (got: PipelineOutputEvent[]) =>
  got.map((e) =>
    e.type === 'tts.payload' ? `${e.frame.display_text?.text}${e.frame.audio ? '' : ' (silent)'}` : e.type === 'tts.passthrough' ? `frame:${e.frame.type}` : 'drained',
  );

describe('tts pipeline (the speech of one reply)', () => {
  test('a payload is the exact audio frame, with its duration and what the model said', async () => {
    const p = pipeline();
    p.sentence(0, 'Hello there! ', { said: '[joy] Hello there! ', expressions: [3] });
    p.answer('Hello there!', { volumes: [0.1, 0.9] });
    await flush();
    expect(p.got).toEqual([
      {
        type: 'tts.payload',
        frame: {
          type: 'audio',
          audio: 'wav(Hello there!)',
          volumes: [0.1, 0.9],
          slice_length: 20,
          display_text: { text: 'Hello there! ', name: 'Mao', avatar: 'mao.png' },
          actions: { expressions: [3] },
          forwarded: false,
        },
        durationMs: 1200,
        said: '[joy] Hello there! ',
      },
    ]);
  });

  test('at most `concurrency` syntheses at once; later ones finishing first wait for the earlier: delivered in order', async () => {
    const p = pipeline({ concurrency: 2 });
    p.sentence(0, 'One. ');
    p.sentence(1, 'Two. ');
    p.sentence(2, 'Three.');
    expect(p.calls.map((c) => c.text)).toEqual(['One.', 'Two.']);
    p.answer('Two.');
    await flush();
    expect(p.calls.map((c) => c.text)).toEqual(['One.', 'Two.', 'Three.']);
    p.answer('Three.');
    await flush();
    expect(p.got).toEqual([]);
    p.answer('One.');
    await flush();
    expect(outline(p.got)).toEqual(['One. ', 'Two. ', 'Three.']);
  });

  test('tts.end: drained once the last payload is out (and not before); the pipeline then finishes', async () => {
    const p = pipeline();
    p.sentence(0, 'One. ');
    p.sentence(1, 'Two.');
    p.send({ type: 'tts.end', total: 2 });
    p.answer('One.');
    await flush();
    expect(outline(p.got)).toEqual(['One. ']);
    p.answer('Two.');
    await flush();
    expect(outline(p.got)).toEqual(['One. ', 'Two.', 'drained']);
    expect(p.child()!.getSnapshot().status).toBe('done');
  });

  test('a reply with nothing to say drains at once', () => {
    const p = pipeline();
    p.send({ type: 'tts.end', total: 0 });
    expect(outline(p.got)).toEqual(['drained']);
  });

  test('a sentence with nothing to speak is a silent payload in its place, without synthesis; `said` defaults to the text shown', async () => {
    const p = pipeline();
    p.sentence(0, 'Look: ');
    p.sentence(1, '*waves*', { speech: '' });
    p.sentence(2, 'Done.');
    expect(p.calls.map((c) => c.text)).toEqual(['Look:', 'Done.']);
    p.answer('Done.');
    p.answer('Look:');
    await flush();
    expect(outline(p.got)).toEqual(['Look: ', '*waves* (silent)', 'Done.']);
    expect(p.got[1]).toMatchObject({ durationMs: 0, said: '*waves*', frame: { audio: null, volumes: [], actions: {} } });
  });

  test('other frames (tool status) take a sequence number and are delivered in their place', async () => {
    const p = pipeline();
    p.sentence(0, 'Let me look. ');
    p.send({ type: 'tts.frame', seq: 1, frame: { type: 'full-text', text: 'status' } });
    p.sentence(2, 'Found it.');
    p.answer('Found it.');
    await flush();
    expect(outline(p.got)).toEqual([]);
    p.answer('Let me look.');
    await flush();
    expect(outline(p.got)).toEqual(['Let me look. ', 'frame:full-text', 'Found it.']);
  });

  test('a synthesis that fails is a silent payload; one that produced nothing audible carries why', async () => {
    const p = pipeline();
    p.sentence(0, 'Breaks. ');
    p.sentence(1, 'Mute.');
    p.calls[0]!.reject(new Error('HTTP 500'));
    p.answer('Mute.', { audio: null, volumes: [], durationMs: 0, error: 'the engine answered 0 bytes' });
    await flush();
    expect(outline(p.got)).toEqual(['Breaks.  (silent)', 'Mute. (silent)']);
    expect(p.got[0]).toMatchObject({ durationMs: 0, frame: { volumes: [] } });
    expect(p.got[0]).not.toHaveProperty('error');
    expect(p.got[1]).toMatchObject({ error: 'the engine answered 0 bytes', frame: { volumes: [] } });
  });

  test('the first synthesis over its bound: one tts_timeout error, every synthesis in flight stopped, the rest of the reply silent', async () => {
    const p = pipeline({ concurrency: 2, synthesisDeadlineMs: 8000 });
    p.sentence(0, 'One. ');
    p.sentence(1, 'Two. ');
    p.sentence(2, 'Three. ');
    p.clock.increment(7999);
    expect(p.got).toEqual([]);
    p.clock.increment(1);
    expect(p.calls.map((c) => [c.text, c.signal.aborted])).toEqual([
      ['One.', true],
      ['Two.', true],
    ]);
    p.sentence(3, 'Four.');
    p.send({ type: 'tts.end', total: 4 });
    expect(p.calls).toHaveLength(2); // nothing more is asked of the engine
    expect(outline(p.got)).toEqual(['frame:error', 'One.  (silent)', 'Two.  (silent)', 'Three.  (silent)', 'Four. (silent)', 'drained']);
    expect(p.got[0]).toEqual({
      type: 'tts.passthrough',
      frame: { type: 'error', code: 'tts_timeout', message: 'Speech synthesis (fake_tts) did not finish a sentence within 8 s; the rest of this reply is shown without voice' },
    });
  });

  test('each synthesis has its own bound, counted from its start; one answered in time cancels its bound', async () => {
    const p = pipeline({ concurrency: 1, synthesisDeadlineMs: 1000 });
    p.sentence(0, 'One. ');
    p.sentence(1, 'Two.');
    p.clock.increment(900);
    p.answer('One.');
    await flush();
    p.clock.increment(999); // Two started 900 ms in: its bound is at 1900
    expect(outline(p.got)).toEqual(['One. ']);
    p.clock.increment(1);
    expect(outline(p.got)).toEqual(['One. ', 'frame:error', 'Two. (silent)']);
    expect(p.got[1]).toMatchObject({ frame: { message: expect.stringContaining('within 1 s') } });
  });

  test('without a bound given, the default (60 s) applies', () => {
    const p = pipeline({ synthesisDeadlineMs: undefined });
    p.sentence(0, 'One.');
    p.clock.increment(59_999);
    expect(p.got).toEqual([]);
    p.clock.increment(1);
    expect(p.got[0]).toMatchObject({ frame: { code: 'tts_timeout', message: expect.stringContaining('within 60 s') } });
  });

  test('stopped (the turn ends or is interrupted): every synthesis in flight is aborted, and nothing more is delivered', async () => {
    const p = pipeline();
    p.sentence(0, 'One. ');
    p.sentence(1, 'Two.');
    p.stop();
    expect(p.calls.map((c) => c.signal.aborted)).toEqual([true, true]);
    p.answer('One.');
    p.clock.increment(60_000);
    await flush();
    expect(p.got).toEqual([]);
  });
});
