import { createActor, fromPromise, SimulatedClock } from 'xstate';
import type { AsrEngine, TranscribeInput } from '../../machines/engine-contracts.js';
import { transcriptionMachine, type TranscriptionInput } from '../../machines/transcription.machine.js';

/** machines/transcription.machine.ts: one utterance, a fake `transcribe` under the test's control, a simulated clock. */

const ENGINE: AsrEngine = { provider: 'fake_asr', transcribe: async () => '' };
const SAMPLES = new Float32Array(1600);

function transcribe(input: Partial<TranscriptionInput> = {}) {
  const calls: Array<{ input: TranscribeInput; signal: AbortSignal; resolve: (text: string) => void; reject: (e: unknown) => void }> = [];
  const machine = transcriptionMachine.provide({
    actors: {
      transcribe: fromPromise<string, TranscribeInput>(({ input, signal }) => new Promise((resolve, reject) => calls.push({ input, signal, resolve, reject }))),
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input: { engine: ENGINE, samples: SAMPLES, clientUid: 'uid-1', deadlineMs: 7000, ...input }, clock }).start();
  return { actor, clock, calls };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('transcription (one utterance, bounded)', () => {
  test('the recognizer gets the engine, the samples and the client; its text is the output, with no error', async () => {
    const t = transcribe();
    expect(t.calls.map((c) => c.input)).toEqual([{ engine: ENGINE, unavailable: undefined, samples: SAMPLES, clientUid: 'uid-1' }]);
    t.calls[0]!.resolve('hello there');
    await flush();
    expect(t.actor.getSnapshot().status).toBe('done');
    expect(t.actor.getSnapshot().output).toEqual({ text: 'hello there', error: null });
  });

  test('a recognizer that fails: no text, and the asr error frame the client is to get', async () => {
    const t = transcribe();
    t.calls[0]!.reject(new Error('HTTP 500: model crashed'));
    await flush();
    expect(t.actor.getSnapshot().output).toEqual({ text: '', error: { type: 'error', code: 'asr', message: 'Speech recognition failed: HTTP 500: model crashed' } });
  });

  test('no engine: the slot fails with why, and that is what the client is told', async () => {
    const t = transcribe({ engine: undefined, unavailable: 'no speech recognizer is configured' });
    expect(t.calls[0]!.input).toMatchObject({ engine: undefined, unavailable: 'no speech recognizer is configured' });
    t.calls[0]!.reject(new Error('no speech recognizer is configured'));
    await flush();
    expect(t.actor.getSnapshot().output).toMatchObject({ error: { code: 'asr', message: 'Speech recognition failed: no speech recognizer is configured' } });
  });

  test('the bound: still recognizing a millisecond before it; at it, asr_timeout naming the engine, and the request aborted', () => {
    const t = transcribe();
    t.clock.increment(6999);
    expect(t.actor.getSnapshot().value).toBe('recognizing');
    expect(t.calls[0]!.signal.aborted).toBe(false);
    t.clock.increment(1);
    expect(t.calls[0]!.signal.aborted).toBe(true);
    expect(t.actor.getSnapshot().output).toEqual({
      text: '',
      error: { type: 'error', code: 'asr_timeout', message: 'Speech recognition failed: fake_asr did not answer within 7 s' },
    });
  });

  test('without an engine the bound names "the speech recognizer"; under a second it is said in ms', () => {
    const t = transcribe({ engine: undefined, deadlineMs: 250 });
    t.clock.increment(250);
    expect(t.actor.getSnapshot().output).toMatchObject({ error: { code: 'asr_timeout', message: 'Speech recognition failed: the speech recognizer did not answer within 250 ms' } });
  });

  test('stopped (an interrupt, a switch, a disconnect): the request is aborted and nothing is output', () => {
    const t = transcribe();
    t.actor.stop();
    expect(t.calls[0]!.signal.aborted).toBe(true);
    expect(t.actor.getSnapshot().output).toBeUndefined();
  });
});
