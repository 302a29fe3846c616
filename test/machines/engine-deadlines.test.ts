import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { createActor, fromCallback, fromPromise, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import type { EngineDeadlines } from '../../machines/engine-deadlines.js';
import { groupConversationMachine, type ConversationInput } from '../../machines/group-conversation.machine.js';
import type { ConversationTell } from '../../machines/group-protocol.js';
import { ttsPipelineMachine, type SynthResult } from '../../machines/tts-pipeline.machine.js';
import { turnMachine, type TurnInput, type TurnOutput } from '../../machines/turn.machine.js';
import { ttsPreprocessorConfigSchema } from '../../src/config/conf-schema.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import type { LlmStreamInput, SynthesizeInput, TranscribeInput } from '../../machines/engine-contracts.js';
import type { LlmRequest } from '../../src/engines/llm/llm-request.js';

/**
 * Engine deadlines (docs/decisions.md, 9): every engine wait of a turn, of the TTS pipeline and of a group conversation has a deadline (a named
 * delay), driven here by XState's SimulatedClock. Fake actors at the machine's edge; no wall-clock time.
 */

const DEADLINES: EngineDeadlines = { llmFirstOutputMs: 10_000, llmIdleMs: 5_000, synthesisMs: 8_000, transcriptionMs: 7_000 };

type Script = { deltas: string[]; then: 'stall' | 'done' };

/** An LLM that sends `deltas` at once, then stalls or finishes; records when it was stopped (the request aborted). */
function fakeLlm(script: (request: LlmRequest) => Script, log: { aborted: number }) {
  return fromCallback<EventObject, LlmStreamInput>(({ input, sendBack }) => {
    const s = script(input.request);
    void Promise.resolve().then(() => {
      for (const text of s.deltas) sendBack({ type: 'llm.delta', text });
      if (s.then === 'done') sendBack({ type: 'llm.done', toolCalls: [] });
    });
    // Counts the stops of stalled requests only (a finished one is stopped too, as its state is left).
    return () => {
      if (s.then === 'stall') log.aborted++;
    };
  });
}

/** A synthesis that answers at once, or (for texts `stalls` matches) never, until it is aborted. */
function fakeSynth(stalls: (text: string) => boolean, log: { aborted: number }) {
  return fromPromise<SynthResult, SynthesizeInput>(({ input, signal }) => {
    if (!stalls(input.text)) return Promise.resolve({ audio: 'UklGRg==', volumes: [0.5], durationMs: 100 });
    return new Promise((_, reject) => signal.addEventListener('abort', () => (log.aborted++, reject(new Error('aborted')))));
  });
}

const hangingTranscribe = (log: { aborted: number }) =>
  fromPromise<string, TranscribeInput>(
    ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => (log.aborted++, reject(new Error('aborted'))))),
  );

/** Named engines only: the slots above stand in for them, so they are never called. */
const ENGINES: TurnInput['engines'] = {
  llm: { provider: 'fake_llm', toolStyle: 'none', stream: async () => undefined },
  tts: { provider: 'fake_tts', synthesize: async () => null },
  asr: { provider: 'fake_asr', transcribe: async () => '' },
};

function turnInput(overrides: Partial<TurnInput> = {}): TurnInput {
  return {
    clientUid: 'test',
    trigger: { kind: 'text', text: 'hi', images: [] },
    speaker: { name: 'Mao', avatar: '' },
    emotionMap: {},
    preprocessor: ttsPreprocessorConfigSchema.parse({}),
    fasterFirstResponse: false,
    system: 'system',
    memory: [],
    engines: ENGINES,
    clock: { now: () => 0 },
    ttsConcurrency: 2,
    playbackSlackMs: 1_000,
    deadlines: DEADLINES,
    ...overrides,
  };
}

function runTurn(input: TurnInput, engines: { llm: Script | ((r: LlmRequest) => Script); stalls?: (text: string) => boolean }) {
  const log = { llmAborted: { aborted: 0 }, synthAborted: { aborted: 0 }, asrAborted: { aborted: 0 } };
  const frames: ServerFrame[] = [];
  let output: TurnOutput | undefined;
  const script = typeof engines.llm === 'function' ? engines.llm : () => engines.llm as Script;
  const turn = turnMachine.provide({
    actors: {
      llmStream: fakeLlm(script, log.llmAborted),
      transcription: transcriptionMachine.provide({ actors: { transcribe: hangingTranscribe(log.asrAborted) } }),
      ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: fakeSynth(engines.stalls ?? (() => false), log.synthAborted) } }),
    },
  });
  const clock = new SimulatedClock();
  const parent = setup({ actors: { turn } }).createMachine({
    initial: 'running',
    states: {
      running: {
        invoke: { src: 'turn', input: { ...input, clock }, onDone: { target: 'done', actions: ({ event }) => (output = event.output as TurnOutput) } },
        on: {
          'turn.frame': {
            actions: ({ event, self }) => {
              const frame = (event as unknown as { frame: ServerFrame }).frame;
              frames.push(frame);
              // As a client: playback of the reply ends as soon as the synthesis is complete.
              if (frame.type === 'backend-synth-complete') queueMicrotask(() => (self.getSnapshot().children as Record<string, AnyActorRef>).turn?.send({ type: 'playback.complete' }));
            },
          },
        },
      },
      done: { type: 'final' },
    },
  });
  const actor = createActor(parent, { clock }).start();
  return { actor, clock, frames, log, output: () => output };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const errors = (frames: ServerFrame[]) => frames.filter((f): f is Extract<ServerFrame, { type: 'error' }> => f.type === 'error');
const chainEnds = (frames: ServerFrame[]) => frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
const texts = (frames: ServerFrame[]) => frames.flatMap((f) => (f.type === 'audio' ? [f.display_text?.text ?? ''] : []));

describe('turn: the model', () => {
  test('a model that never sends anything: one llm_timeout error at its bound, the request aborted, the chain closed', async () => {
    const t = runTurn(turnInput(), { llm: { deltas: [], then: 'stall' } });
    await flush();
    t.clock.increment(DEADLINES.llmFirstOutputMs - 1);
    await flush();
    expect(errors(t.frames)).toEqual([]);
    t.clock.increment(1);
    await flush();
    expect(errors(t.frames)).toEqual([{ type: 'error', code: 'llm_timeout', message: 'Error processing agent response: fake_llm sent nothing within 10 s' }]);
    expect(t.log.llmAborted.aborted).toBe(1);
    expect(chainEnds(t.frames)).toBe(1);
    expect(t.actor.getSnapshot().status).toBe('done');
    expect(t.output()).toEqual({ userText: 'hi', reply: '', spoken: [], playbackTimedOut: false });
  });

  test('a model that stops in the middle: the idle bound restarts at each chunk; what was said is spoken and is the output', async () => {
    let push: ((text: string) => void) | undefined;
    const log = { aborted: 0 };
    const llmStream = fromCallback<EventObject, LlmStreamInput>(({ sendBack }) => {
      push = (text) => sendBack({ type: 'llm.delta', text });
      return () => log.aborted++;
    });
    const frames: ServerFrame[] = [];
    let output: TurnOutput | undefined;
    const turn = turnMachine.provide({
      actors: { llmStream, ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: fakeSynth(() => false, { aborted: 0 }) } }) },
    });
    // The turn is given the system's clock, as the session gives it: the idle bound counts from the last chunk by it.
    const clock = new SimulatedClock();
    const parent = setup({ actors: { turn } }).createMachine({
      initial: 'running',
      states: {
        running: {
          invoke: { src: 'turn', input: turnInput({ clock }), onDone: { target: 'done', actions: ({ event }) => (output = event.output as TurnOutput) } },
          on: { 'turn.frame': { actions: ({ event }) => frames.push((event as unknown as { frame: ServerFrame }).frame) } },
        },
        done: { type: 'final' },
      },
    });
    const actor = createActor(parent, { clock }).start();
    clock.increment(DEADLINES.llmFirstOutputMs - 1);
    push!('Hello there. ');
    await flush();
    for (let i = 0; i < 5; i++) {
      // Chunks closer together than the idle bound keep the stream alive, however long it runs in total.
      clock.increment(DEADLINES.llmIdleMs - 1);
      push!(i < 4 ? 'More ' : 'words');
      await flush();
    }
    await flush();
    expect(errors(frames)).toEqual([]);
    clock.increment(DEADLINES.llmIdleMs);
    await flush();
    expect(errors(frames)).toEqual([
      { type: 'error', code: 'llm_timeout', message: 'Error processing agent response: fake_llm stopped sending for 5 s; the reply ends here' },
    ]);
    expect(log.aborted).toBe(1);
    expect(texts(frames)).toEqual(['Hello there. ', 'More More More More words']);
    // The playback wait is bounded as on a normal end.
    clock.increment(10_000);
    await flush();
    expect(chainEnds(frames)).toBe(1);
    expect(actor.getSnapshot().status).toBe('done');
    expect(output).toEqual(expect.objectContaining({ reply: 'Hello there. More More More More words', spoken: ['Hello there. ', 'More More More More words'] }));
  });
});

describe('turn: speech', () => {
  test('a synthesis that hangs: one tts_timeout error, every sentence still shown (silent), the chain closed', async () => {
    const t = runTurn(turnInput(), { llm: { deltas: ['One. ', 'Two. ', 'Three. ', 'Four.'], then: 'done' }, stalls: (text) => text !== 'One.' });
    await flush();
    t.clock.increment(DEADLINES.synthesisMs - 1);
    await flush();
    expect(texts(t.frames)).toEqual(['One. ']);
    t.clock.increment(1);
    await flush();
    expect(errors(t.frames)).toEqual([
      { type: 'error', code: 'tts_timeout', message: 'Speech synthesis (fake_tts) did not finish a sentence within 8 s; the rest of this reply is shown without voice' },
    ]);
    // Two and Three were running (concurrency 2): both are stopped at the first bound; Four is never asked for.
    expect(t.log.synthAborted.aborted).toBe(2);
    const audio = t.frames.filter((f) => f.type === 'audio') as Array<Extract<ServerFrame, { type: 'audio' }>>;
    expect(audio.map((f) => [f.display_text?.text, f.audio !== null])).toEqual([
      ['One. ', true],
      ['Two. ', false],
      ['Three. ', false],
      ['Four.', false],
    ]);
    t.clock.increment(10_000);
    await flush();
    expect(chainEnds(t.frames)).toBe(1);
    expect(t.output()?.spoken).toEqual(['One. ', 'Two. ', 'Three. ', 'Four.']);
  });

  test('a transcription that hangs: one asr_timeout error, the request aborted, the chain closed, the model never asked', async () => {
    let asked = 0;
    const t = runTurn(turnInput({ trigger: { kind: 'audio', samples: new Float32Array(1600), images: [] } }), {
      llm: () => (asked++, { deltas: [], then: 'done' }),
    });
    await flush();
    t.clock.increment(DEADLINES.transcriptionMs);
    await flush();
    expect(errors(t.frames)).toEqual([{ type: 'error', code: 'asr_timeout', message: 'Speech recognition failed: fake_asr did not answer within 7 s' }]);
    expect(t.log.asrAborted.aborted).toBe(1);
    expect(chainEnds(t.frames)).toBe(1);
    expect(asked).toBe(0);
    expect(t.actor.getSnapshot().status).toBe('done');
  });
});

describe('group conversation', () => {
  /** Runs a conversation under a parent that plays the group: it answers turn requests and records what is told. */
  function runConversation(members: string[], llmFor: (uid: string) => Script, trigger: ConversationInput['input']['trigger']) {
    const told: Array<{ to: string; event: { type: string; frames?: ServerFrame[]; messages?: unknown[] } }> = [];
    const llmAborted = { aborted: 0 };
    const turn = turnMachine.provide({
      actors: {
        llmStream: fakeLlm((request) => llmFor(request.system), llmAborted),
        ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: fakeSynth(() => false, { aborted: 0 }) } }),
      },
    });
    const conversation = groupConversationMachine.provide({ actors: { turn, transcription: transcriptionMachine.provide({ actors: { transcribe: hangingTranscribe({ aborted: 0 }) } }) } });
    const parent = setup({ actors: { conversation } }).createMachine({
      initial: 'running',
      states: {
        running: {
          invoke: {
            src: 'conversation',
            input: {
              groupId: 'g',
              initiatorUid: members[0]!,
              order: members.map((uid) => ({ uid, ref: undefined as unknown as AnyActorRef })),
              names: Object.fromEntries(members.map((uid) => [uid, uid])),
              input: { trigger, humanName: 'Human', asr: ENGINES.asr, deadlines: DEADLINES, memberAnswerMs: 5000 },
              rounds: 1,
            },
            onDone: 'done',
          },
          on: {
            'conv.tell': {
              actions: ({ event }) => {
                const tell = event as unknown as ConversationTell;
                told.push({ to: tell.to, event: tell.event as never });
                if (tell.event.type === 'group.turn-request') {
                  // The speaker's session gives its turn input; its uid is its system prompt here, for the fake LLM.
                  const uid = tell.to;
                  const input = turnInput({ clientUid: uid, system: uid, speaker: { name: uid, avatar: '' }, trigger: { kind: 'text', text: tell.event.text, images: [] } });
                  queueMicrotask(() => tell.event.type === 'group.turn-request' && tell.event.replyTo.send({ type: 'group.turn-input', input }));
                } else if (tell.event.type === 'group.deliver') {
                  // As every member's client: playback ends when synthesis does.
                  if (tell.event.frames.some((f) => f.type === 'backend-synth-complete')) {
                    queueMicrotask(() => conversationRef()?.send({ type: 'conv.playback-complete', uid: tell.to }));
                  }
                }
              },
            },
          },
        },
        done: { type: 'final' },
      },
    });
    const clock = new SimulatedClock();
    const actor = createActor(parent, { clock }).start();
    const conversationRef = () => Object.values(actor.getSnapshot().children)[0] as AnyActorRef | undefined;
    const frames = () => told.flatMap((t) => (t.event.type === 'group.deliver' ? (t.event.frames ?? []).map((frame) => ({ to: t.to, frame })) : []));
    return { actor, clock, told, frames, llmAborted };
  }

  test('a stalled speaker holds nobody: its error and chain-end reach everybody at the bound, the next member speaks', async () => {
    const c = runConversation(['a', 'b'], (uid) => (uid === 'a' ? { deltas: [], then: 'stall' } : { deltas: ['I am b.'], then: 'done' }), {
      kind: 'text',
      text: 'hello all',
      images: [],
    });
    await flush();
    c.clock.increment(DEADLINES.llmFirstOutputMs);
    await flush();
    const errorsToAll = c.frames().filter((f) => f.frame.type === 'error');
    expect(errorsToAll).toEqual([{ to: 'all', frame: expect.objectContaining({ code: 'llm_timeout', message: expect.stringContaining('fake_llm sent nothing within 10 s') }) }]);
    expect(c.llmAborted.aborted).toBe(1);
    for (let i = 0; i < 5; i++) {
      c.clock.increment(1_000);
      await flush();
    }
    const chainEnds = c.frames().filter((f) => f.frame.type === 'control' && f.frame.text === 'conversation-chain-end');
    expect(chainEnds).toEqual([{ to: 'all', frame: expect.anything() }, { to: 'all', frame: expect.anything() }]);
    const said = c.frames().filter((f) => f.frame.type === 'audio').map((f) => [f.to, (f.frame as { display_text: { text: string } }).display_text.text]);
    expect(said).toEqual([['b', 'I am b.']]);
    expect(c.actor.getSnapshot().status).toBe('done');
  });

  test("the initiator's transcription that hangs ends the conversation at its bound with one asr_timeout error", async () => {
    const c = runConversation(['a', 'b'], () => ({ deltas: ['x'], then: 'done' }), { kind: 'audio', samples: new Float32Array(160), images: [] });
    await flush();
    c.clock.increment(DEADLINES.transcriptionMs - 1);
    await flush();
    expect(c.actor.getSnapshot().status).toBe('active');
    c.clock.increment(1);
    await flush();
    expect(c.frames()).toEqual([{ to: 'a', frame: { type: 'error', code: 'asr_timeout', message: 'Speech recognition failed: fake_asr did not answer within 7 s' } }]);
    expect(c.actor.getSnapshot().status).toBe('done');
  });
});
