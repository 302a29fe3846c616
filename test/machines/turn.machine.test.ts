import { fakeAsr, fakeLlm, fakeTts, runTurn } from '../helpers/run-turn.js';

/**
 * machines/turn.machine.ts through the runTurn harness: fake engines in-process, XState's SimulatedClock, the exact
 * frame sequence of docs/protocol.md, 'Turn frames'. Bounds are asserted on simulated time: nothing here depends on how loaded the
 * machine running the tests is.
 */

const words = (text: string) => text.match(/\S+\s*/g) ?? [];
const START = ['control:conversation-chain-start', 'full-text:Thinking...'];
const END = ['force-new-message', 'control:conversation-chain-end'];

describe('a turn (machines/turn.machine.ts) with fake engines on a simulated clock', () => {
  test('text in: the exact frame sequence, backend-synth-complete once after the last audio, ended by playback-complete', async () => {
    const llm = fakeLlm({ deltas: words('[joy] Hello there! How are you?') });
    const turn = runTurn('Hi', { llm });
    await turn.settle();
    // The tag travels as the expression, not as text; the space after the sentence stays with it.
    expect(turn.outline()).toEqual([...START, 'audio:Hello there! ', 'audio:How are you?', 'backend-synth-complete']);
    expect(turn.frames[2]).toMatchObject({ actions: { expressions: [3] }, display_text: { name: 'Mao', avatar: 'mao.png' }, forwarded: false });
    expect(turn.userMessages).toEqual(['Hi']);
    expect(llm.requests.map((r) => r.userText)).toEqual(['Hi']);
    expect(turn.done()).toBe(false);
    turn.playbackComplete();
    expect(turn.outline().slice(-2)).toEqual(END);
    expect(turn.output()).toEqual({ userText: 'Hi', reply: '[joy] Hello there! How are you?', spoken: ['[joy] Hello there! ', 'How are you?'], playbackTimedOut: false });
  });

  test('a client that never reports playback: the turn ends exactly at the audio sent plus the slack (U7)', async () => {
    // 19 + 15 characters at 20 ms each: 680 ms of audio; slack 300 ms → the bound is 980 ms after backend-synth-complete.
    const tts = fakeTts({ msPerChar: 20 });
    const turn = runTurn('Hi', { llm: fakeLlm({ deltas: words('Twenty characters!! And more of it.') }), tts, input: { playbackSlackMs: 300 } });
    await turn.settle();
    expect(tts.texts).toEqual(['Twenty characters!!', 'And more of it.']);
    expect(turn.outline().at(-1)).toBe('backend-synth-complete');
    turn.clock.increment(979);
    await turn.settle();
    expect(turn.done()).toBe(false);
    expect(turn.outline().at(-1)).toBe('backend-synth-complete');
    turn.clock.increment(1);
    expect(turn.outline().slice(-2)).toEqual(END);
    expect(turn.output()).toMatchObject({ playbackTimedOut: true });
  });

  test('playback-complete before backend-synth-complete does not end the turn (U12)', async () => {
    const tts = fakeTts({ holdWhen: (text) => text === 'Another one there.' });
    const turn = runTurn('first', { llm: fakeLlm({ deltas: words('One sentence here. Another one there.') }), tts });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'audio:One sentence here. ']);
    turn.playbackComplete(); // too early: the reply is still being synthesised
    tts.release('Another one there.');
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'audio:One sentence here. ', 'audio:Another one there.', 'backend-synth-complete']);
    expect(turn.done()).toBe(false);
    turn.playbackComplete();
    expect(turn.outline().slice(-2)).toEqual(END);
  });

  test('sentences are synthesised in parallel (up to tts_concurrency) and delivered in order', async () => {
    const long = 'A long first sentence that takes a while to say.';
    const tts = fakeTts({ holdWhen: (text) => text !== 'Fourth one.' });
    const turn = runTurn('go', { llm: fakeLlm({ deltas: words(`${long} Short. Tiny. Fourth one.`) }), tts, input: { ttsConcurrency: 3 } });
    await turn.settle();
    // Three syntheses run at once; the fourth waits for a free slot.
    expect(tts.texts).toEqual([long, 'Short.', 'Tiny.']);
    tts.release('Short.');
    tts.release('Tiny.');
    await turn.settle();
    // The later sentences are done, the fourth started, but nothing is delivered before the first.
    expect(tts.texts).toEqual([long, 'Short.', 'Tiny.', 'Fourth one.']);
    expect(turn.outline()).toEqual(START);
    tts.release(long);
    await turn.settle();
    expect(turn.outline()).toEqual([...START, `audio:${long} `, 'audio:Short. ', 'audio:Tiny. ', 'audio:Fourth one.', 'backend-synth-complete']);
  });

  test('a synthesis that fails still shows its sentence, as a silent payload in its place', async () => {
    const tts = fakeTts({ failWhen: (text) => text.startsWith('Second') });
    const turn = runTurn('go', { llm: fakeLlm({ deltas: words('First works. Second breaks. Third works.') }), tts });
    await turn.settle();
    const audio = turn.frames.filter((f) => f.type === 'audio') as Array<{ audio: string | null; display_text: { text: string } }>;
    expect(audio.map((f) => [f.display_text.text, f.audio !== null])).toEqual([
      ['First works. ', true],
      ['Second breaks. ', false],
      ['Third works.', true],
    ]);
    expect(turn.outline().at(-1)).toBe('backend-synth-complete');
  });

  test('an LLM error mid-stream: what was said is spoken, one error frame, and the chain still ends (U10)', async () => {
    const turn = runTurn('go', { llm: fakeLlm({ deltas: words('Part one is fine. Part two'), error: 'model overloaded' }) });
    await turn.settle();
    // The first sentence was complete (terminator and space) before the error: it was on its way to the TTS already.
    expect(turn.outline()).toEqual([...START, 'audio:Part one is fine. ', 'error', 'audio:Part two', 'backend-synth-complete']);
    expect(turn.frames[3]).toEqual({ type: 'error', code: 'llm', message: 'Error processing agent response: model overloaded' });
    turn.playbackComplete();
    expect(turn.output()).toMatchObject({ reply: 'Part one is fine. Part two' });
  });

  test('an LLM that fails before any text: error, then the chain ends without backend-synth-complete', async () => {
    const turn = runTurn('hello?', { llm: fakeLlm({ deltas: [], error: 'HTTP 401: Invalid API key' }) });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'error', ...END]);
    expect(turn.done()).toBe(true);
  });

  test('stopped mid-stream (interrupt): the LLM request and every synthesis are aborted at once, and nothing more is sent', async () => {
    const llm = fakeLlm({ deltas: words('Once upon a time there was a sea. It was wide. And deep'), stall: true });
    const tts = fakeTts({ holdWhen: (text) => text === 'It was wide.' });
    const turn = runTurn('Tell me a story', { llm, tts });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'audio:Once upon a time there was a sea. ']);
    turn.stop();
    // Synchronously inside the stop: no time passes between the interrupt and the aborts.
    expect(llm.aborted).toBe(1);
    expect(tts.aborted).toBe(1);
    const sent = turn.frames.length;
    tts.release('It was wide.');
    turn.clock.increment(60_000);
    await turn.settle();
    expect(turn.frames).toHaveLength(sent);
    expect(turn.done()).toBe(false);
  });

  test('a stop while the last synthesis runs aborts it; a stop while waiting for playback sends nothing', async () => {
    const tts = fakeTts({ holdWhen: (text) => text === 'Bye.' });
    const running = runTurn('go', { llm: fakeLlm({ deltas: words('Hello. Bye.') }), tts });
    await running.settle();
    running.stop();
    expect(tts.aborted).toBe(1);

    const waiting = runTurn('go', { llm: fakeLlm({ deltas: words('Hello.') }) });
    await waiting.settle();
    expect(waiting.outline().at(-1)).toBe('backend-synth-complete');
    waiting.stop();
    waiting.clock.increment(60_000);
    expect(waiting.outline().at(-1)).toBe('backend-synth-complete');
  });

  test('proactive speech: the prompt is asked, never remembered as the user\'s words; the output has no user text', async () => {
    const llm = fakeLlm({ deltas: words('Still there?') });
    const turn = runTurn({ kind: 'proactive', prompt: 'Say something to the user.', images: [] }, { llm });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'audio:Still there?', 'backend-synth-complete']);
    expect(llm.requests.map((r) => r.userText)).toEqual(['Say something to the user.']);
    expect(turn.userMessages).toEqual([]);
    turn.playbackComplete();
    expect(turn.outline().slice(-2)).toEqual(END);
    expect(turn.output()).toEqual({ userText: '', reply: 'Still there?', spoken: ['Still there?'], playbackTimedOut: false });
  });

  test('text with nothing in it: the model is not asked, nothing is remembered, the chain ends at once', async () => {
    const llm = fakeLlm({ deltas: words('Never asked.') });
    const turn = runTurn('   ', { llm });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, ...END]);
    expect(llm.requests).toEqual([]);
    expect(turn.userMessages).toEqual([]);
    expect(turn.done()).toBe(true);
  });

  test('an image without words is answered, and remembered as a note', async () => {
    const llm = fakeLlm({ deltas: words('A nice picture.') });
    const turn = runTurn({ kind: 'text', text: '', images: [{ data: 'aGVsbG8=', mime_type: 'image/png' }] }, { llm });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'audio:A nice picture.', 'backend-synth-complete']);
    expect(turn.userMessages).toEqual(['[User provided image(s)]']);
    expect(llm.requests[0]).toMatchObject({ userText: '', images: [{ data: 'aGVsbG8=' }] });
  });

  test('a turn that records its reply: the chain ends once the parent has it on disk', async () => {
    const turn = runTurn('Hi', { llm: fakeLlm({ deltas: words('Noted.') }), input: { record: { deadlineMs: 500 } } });
    await turn.settle();
    turn.playbackComplete();
    expect(turn.outline()).toEqual([...START, 'audio:Noted.', 'backend-synth-complete', 'force-new-message']);
    expect(turn.finished).toEqual([{ userText: 'Hi', reply: 'Noted.', spoken: ['Noted.'], playbackTimedOut: false }]);
    expect(turn.done()).toBe(false);
    turn.historySaved();
    expect(turn.outline().slice(-2)).toEqual(END);
    expect(turn.done()).toBe(true);
  });

  test('a disk that does not answer holds the chain exactly its record bound', async () => {
    const turn = runTurn('Hi', { llm: fakeLlm({ deltas: words('Noted.') }), input: { record: { deadlineMs: 500 } } });
    await turn.settle();
    turn.playbackComplete();
    turn.clock.increment(499);
    expect(turn.outline().at(-1)).toBe('force-new-message');
    turn.clock.increment(1);
    expect(turn.outline().slice(-2)).toEqual(END);
    expect(turn.finished).toHaveLength(1);
    expect(turn.done()).toBe(true);
  });

  test('voice in: the transcription is shown, remembered and answered', async () => {
    const llm = fakeLlm({ deltas: words('I heard you.') });
    const turn = runTurn({ kind: 'audio', samples: new Float32Array(1600), images: [] }, { llm, asr: fakeAsr('hello from the microphone') });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'user-input-transcription', 'audio:I heard you.', 'backend-synth-complete']);
    expect(turn.frames[2]).toEqual({ type: 'user-input-transcription', text: 'hello from the microphone' });
    expect(turn.userMessages).toEqual(['hello from the microphone']);
    expect(llm.requests.map((r) => r.userText)).toEqual(['hello from the microphone']);
  });

  test('voice that transcribes to nothing: shown as empty, the model is not asked, the chain ends at once', async () => {
    const llm = fakeLlm({ deltas: words('Never asked.') });
    const turn = runTurn({ kind: 'audio', samples: new Float32Array(1600), images: [] }, { llm, asr: fakeAsr('  ') });
    await turn.settle();
    expect(turn.outline()).toEqual([...START, 'user-input-transcription', ...END]);
    expect(llm.requests).toEqual([]);
    expect(turn.userMessages).toEqual([]);
    expect(turn.done()).toBe(true);
  });
});
