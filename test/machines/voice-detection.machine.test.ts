import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import { voiceDetectionMachine } from '../../machines/voice-detection.machine.js';
import type {
  SpeechProbabilityCommand,
  SpeechProbabilityEvent,
  SpeechProbabilityInput,
  VoiceDetectionInput,
  VoiceDetectionOutputEvent,
} from '../../machines/voice-detection-contract.js';

/**
 * machines/voice-detection.machine.ts with a fake judging slot: each test sends frames of windows whose loudness it
 * chooses and answers each batch with the probabilities it chooses, and reads exactly what the session is told.
 */

const W = 512;

/** One window: a tone of this amplitude, and the probability the fake model gives it. */
type Win = { amp: number; prob: number };
const SPEECH: Win = { amp: 0.5, prob: 0.9 }; // ≈ 81 dB
const QUIET: Win = { amp: 0, prob: 0.02 }; // digital silence
const NOISE: Win = { amp: 0.5, prob: 0.1 }; // loud, but the model hears no speech
const WHISPER: Win = { amp: 0.01, prob: 0.9 }; // speech, but ≈ 47 dB: under db_threshold
const BREATH: Win = { amp: 0.5, prob: 0.02 }; // loud, no speech
const times = (n: number, w: Win): Win[] => Array.from({ length: n }, () => w);

const tone = (amp: number): number[] => Array.from({ length: W }, (_, i) => amp * Math.sin(i / 4));
const samplesOf = (wins: readonly Win[]) => wins.flatMap((w) => tone(w.amp));

const SETTINGS = { probThreshold: 0.4, dbThreshold: 60, requiredHits: 3, requiredMisses: 4, smoothingWindow: 1 };

interface Slot {
  input: SpeechProbabilityInput;
  batches: Float32Array[];
  stopped: boolean;
  sendBack(event: SpeechProbabilityEvent): void;
}

function detector(over: Partial<VoiceDetectionInput> = {}) {
  const told: VoiceDetectionOutputEvent[] = [];
  const slots: Slot[] = [];
  const speechProbability = fromCallback<SpeechProbabilityCommand, SpeechProbabilityInput, EventObject>(({ input, receive, sendBack }) => {
    const slot: Slot = { input, batches: [], stopped: false, sendBack };
    slots.push(slot);
    receive((command) => slot.batches.push(command.windows));
    return () => {
      slot.stopped = true;
    };
  });
  const input: VoiceDetectionInput = { settings: SETTINGS, modelPath: null, maxUtteranceSamples: 60 * 16000, answerMs: 5000, retryMs: 10_000, ...over };
  const session = setup({ actors: { vad: voiceDetectionMachine.provide({ actors: { speechProbability } }) } }).createMachine({
    invoke: { id: 'vad', src: 'vad', input },
    on: { '*': { actions: ({ event }) => void told.push(event as VoiceDetectionOutputEvent) } },
  });
  const clock = new SimulatedClock();
  const actor = createActor(session, { clock }).start();
  const vad = () => actor.getSnapshot().children.vad as AnyActorRef;
  const slot = () => slots.at(-1)!;
  const send = (samples: number[]) => vad().send({ type: 'vad.audio', samples });
  /** Sends the windows as one frame, and answers the batch it makes with their probabilities. */
  const feed = (wins: readonly Win[]) => {
    send(samplesOf(wins));
    answer(wins.map((w) => w.prob));
  };
  const answer = (probs: number[]) => slot().sendBack({ type: 'probability.result', probs });
  return { told, slots, slot, clock, actor, vad, send, feed, answer };
}

describe('voice detection (one session, upstream hits and misses)', () => {
  test('nothing is loaded before raw audio arrives; then one slot with the model path and the threshold', () => {
    const d = detector({ modelPath: 'models/vad.onnx' });
    expect(d.slots).toEqual([]);
    expect(d.vad().getSnapshot().value).toBe('dormant');
    d.send(samplesOf([QUIET]));
    expect(d.slots.map((s) => s.input)).toEqual([{ modelPath: 'models/vad.onnx', threshold: 0.4 }]);
  });

  test('windows of 512: a part window waits for the next frame (upstream dropped it), and samples are clipped to -1…1', () => {
    const d = detector();
    d.send(Array.from({ length: 700 }, () => 2));
    expect(d.slot().batches.map((b) => b.length)).toEqual([512]);
    expect(d.slot().batches[0]!.every((v) => v === 1)).toBe(true);
    d.answer([0]);
    d.send(Array.from({ length: 324 }, () => -0.25));
    expect(d.slot().batches.map((b) => b.length)).toEqual([512, 512]);
    expect(Array.from(d.slot().batches[1]!.subarray(0, 188))).toEqual(Array.from({ length: 188 }, () => 1));
    expect(Array.from(d.slot().batches[1]!.subarray(188))).toEqual(Array.from({ length: 324 }, () => -0.25));
  });

  test('speech: start after required_hits hits, the end after required_misses misses twice over; the utterance is the pre-roll and all after it', () => {
    const d = detector();
    d.feed([...times(5, QUIET), ...times(2, SPEECH)]);
    expect(d.told).toEqual([]);
    d.feed([SPEECH]);
    expect(d.told).toEqual([{ type: 'vad.speech-start' }]);
    const rest = [...times(36, SPEECH), ...times(4, QUIET), ...times(3, QUIET)];
    d.feed(rest);
    expect(d.told).toHaveLength(1); // paused, not ended: one miss short
    d.feed([QUIET]);
    const utterance = [...times(5, QUIET), ...times(3, SPEECH), ...rest, QUIET];
    expect(d.told).toEqual([{ type: 'vad.speech-start' }, { type: 'vad.utterance', samples: Float32Array.from(samplesOf(utterance)) }]);
  });

  test('a pause shorter than the end resumes the same utterance on required_hits hits', () => {
    const d = detector();
    d.feed([...times(3, SPEECH), ...times(20, SPEECH), ...times(6, QUIET), ...times(3, SPEECH), ...times(20, SPEECH), ...times(8, QUIET)]);
    expect(d.told.map((e) => e.type)).toEqual(['vad.speech-start', 'vad.utterance']);
    expect((d.told[1] as { samples: Float32Array }).samples.length).toBe((3 + 20 + 6 + 3 + 20 + 8) * W);
  });

  test('the pre-roll is the last 20 windows before the start', () => {
    const d = detector();
    d.feed([...times(30, QUIET), ...times(3, SPEECH), ...times(30, SPEECH), ...times(8, QUIET)]);
    expect((d.told[1] as { samples: Float32Array }).samples.length).toBe((20 + 30 + 8) * W);
  });

  test('a segment too short is forgotten: the next utterance does not start with it (upstream prepended it)', () => {
    const d = detector();
    d.feed([...times(3, SPEECH), ...times(5, SPEECH), ...times(8, QUIET)]);
    expect(d.told).toEqual([{ type: 'vad.speech-start' }]);
    d.feed([...times(3, SPEECH), ...times(30, SPEECH), ...times(8, QUIET)]);
    expect(d.told.map((e) => e.type)).toEqual(['vad.speech-start', 'vad.speech-start', 'vad.utterance']);
    // The pre-roll after the short segment: only the windows heard since it ended, and the 3 hits.
    expect((d.told[2] as { samples: Float32Array }).samples.length).toBe((3 + 30 + 8) * W);
  });

  test('silence, loud noise the model does not call speech, and speech under db_threshold start nothing', () => {
    const d = detector();
    d.feed([...times(40, QUIET), ...times(40, NOISE), ...times(40, WHISPER)]);
    expect(d.told).toEqual([]);
  });

  test('probability and loudness are averaged over smoothing_window: isolated speech windows are not hits', () => {
    const d = detector({ settings: { ...SETTINGS, smoothingWindow: 5 } });
    d.feed(Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? SPEECH : BREATH)));
    expect(d.told).toEqual([]);
    d.feed(times(6, SPEECH)); // the average reaches 0.4 on the second, the hits follow
    expect(d.told).toEqual([{ type: 'vad.speech-start' }]);
  });

  test('an utterance longer than mic_max_seconds is dropped, and the detector listens anew', () => {
    const d = detector({ maxUtteranceSamples: 40 * W });
    d.feed([...times(3, SPEECH), ...times(36, SPEECH)]);
    expect(d.told).toEqual([{ type: 'vad.speech-start' }]);
    d.feed([SPEECH, SPEECH]);
    expect(d.told).toEqual([{ type: 'vad.speech-start' }, { type: 'vad.dropped', reason: 'too-long', seconds: 1 }]);
    d.feed([...times(3, SPEECH), ...times(22, SPEECH), ...times(8, QUIET)]);
    expect(d.told.slice(2).map((e) => e.type)).toEqual(['vad.speech-start', 'vad.utterance']);
  });

  test('one batch at a time: audio that arrives meanwhile waits, and goes next, in one batch', () => {
    const d = detector();
    d.send(samplesOf([QUIET]));
    d.send(samplesOf([QUIET, QUIET]));
    d.send(samplesOf([QUIET]));
    expect(d.slot().batches.map((b) => b.length / W)).toEqual([1]);
    d.answer([0]);
    expect(d.slot().batches.map((b) => b.length / W)).toEqual([1, 3]);
  });

  test('a detector 10 s behind drops what waits and says so', () => {
    const d = detector();
    d.send(samplesOf([QUIET]));
    for (let i = 0; i < 312; i++) d.send(samplesOf([QUIET]));
    expect(d.told).toEqual([]);
    d.send(samplesOf([QUIET]));
    expect(d.told).toEqual([{ type: 'vad.dropped', reason: 'behind', seconds: 10 }]);
    d.answer([0]);
    expect(d.slot().batches).toHaveLength(1);
  });

  test('a slot that fails: told once, audio ignored, the model tried again after retryMs', () => {
    const d = detector();
    d.send(samplesOf([QUIET]));
    d.slot().sendBack({ type: 'probability.failed', message: 'silero_vad: no model file' });
    expect(d.told).toEqual([{ type: 'vad.failed', message: 'silero_vad: no model file' }]);
    expect(d.slots[0]!.stopped).toBe(true);
    d.send(samplesOf([SPEECH]));
    d.clock.increment(9999);
    d.send(samplesOf([SPEECH]));
    expect(d.slots).toHaveLength(1);
    d.clock.increment(1);
    d.send(samplesOf([QUIET]));
    expect(d.slots).toHaveLength(2);
    expect(d.told).toHaveLength(1);
  });

  test('no answer within answerMs: the slot is stopped and the session told', () => {
    const d = detector({ answerMs: 3000 });
    d.send(samplesOf([QUIET]));
    d.clock.increment(2999);
    expect(d.told).toEqual([]);
    d.clock.increment(1);
    expect(d.told).toEqual([{ type: 'vad.failed', message: 'the speech detector did not answer within 3 s' }]);
    expect(d.slot().stopped).toBe(true);
  });

  test('a slot that answers for the wrong number of windows is a failure', () => {
    const d = detector();
    d.send(samplesOf([QUIET, QUIET]));
    d.answer([0]);
    expect(d.told).toEqual([{ type: 'vad.failed', message: 'the speech detector answered for the wrong number of windows' }]);
  });

  test('stopped with its session (a switch, a disconnect): the slot is stopped too', () => {
    const d = detector();
    d.send(samplesOf([QUIET]));
    d.actor.stop();
    expect(d.slot().stopped).toBe(true);
  });
});
