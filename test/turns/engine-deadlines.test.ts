import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { isChainEnd } from '../helpers/frames.js';

type F = Record<string, any>;

/**
 * Issue 11 §4 over a real socket: the fake engines stall (the request stays open, nothing more is sent) and the
 * turn ends at its bound with one coded error and a chain-end; what was said is in the history; the session goes on.
 */
const BOUNDS = {
  'system_config.llm_first_output_timeout_seconds': 0.4,
  'system_config.llm_idle_timeout_seconds': 0.4,
  'system_config.tts_timeout_seconds': 0.4,
  'system_config.asr_timeout_seconds': 0.4,
  'system_config.playback_slack_seconds': 0.2,
};

const chainEnds = (c: TestClient) => c.frames.filter(isChainEnd).length;
const spoken = (c: TestClient) => c.ofType('audio').map((f: F) => [f.display_text.text, f.audio !== null]);

async function client(url: string): Promise<{ c: TestClient; uid: string; historyUid: string }> {
  const c = await TestClient.connect(url);
  await c.ready();
  const uid = (c.ofType('set-model-and-conf')[0] as F).client_uid as string;
  c.send({ type: 'create-new-history' });
  const historyUid = (await c.next('new-history-created')).history_uid as string;
  c.frames.length = 0;
  return { c, uid, historyUid };
}

describe('engine deadlines over a socket', () => {
  const harness = useFakeEngineServer({ conf: BOUNDS });
  const history = async (historyUid: string) => {
    await harness.server.history.flush();
    return (await harness.server.history.read('mao_pro_001', historyUid)).map((m) => `${m.role}: ${m.content}`);
  };

  test('a model that never answers: llm_timeout error, chain closed, request aborted; the next input is answered', async () => {
    const { c } = await client(harness.server.wsUrl);
    harness.fake.llm = () => ({ tokens: [], stall: true });
    c.send({ type: 'text-input', text: 'are you there?', images: [] });
    await c.waitUntil((fs) => fs.some(isChainEnd), 3000, 'chain end');
    expect(c.ofType('error')).toEqual([{ type: 'error', code: 'llm_timeout', message: 'Error processing agent response: openai_compatible_llm sent nothing within 400 ms' }]);
    await until('the stalled request closed', () => harness.fake.chatRequests().at(-1)!.abortedAt !== undefined, 3000);

    harness.fake.llm = () => ({ tokens: tokens('I am back.') });
    c.frames.length = 0;
    c.send({ type: 'text-input', text: 'again', images: [] });
    await c.next('backend-synth-complete');
    c.send({ type: 'frontend-playback-complete' });
    await c.waitUntil((fs) => fs.some(isChainEnd), 3000, 'second chain end');
    expect(spoken(c)).toEqual([['I am back.', true]]);
    expect(c.ofType('error')).toEqual([]);
    await c.close();
  });

  test('a model that stops in the middle: what it said is shown, spoken and in the history', async () => {
    const { c, historyUid } = await client(harness.server.wsUrl);
    harness.fake.llm = () => ({ tokens: tokens('Hello there. I was about to say'), stall: true });
    c.send({ type: 'text-input', text: 'tell me', images: [] });
    await c.next('backend-synth-complete');
    c.send({ type: 'frontend-playback-complete' });
    await c.waitUntil((fs) => fs.some(isChainEnd), 3000, 'chain end');
    expect(c.ofType('error').map((f: F) => f.code)).toEqual(['llm_timeout']);
    expect(spoken(c)).toEqual([
      ['Hello there. ', true],
      ['I was about to say', true],
    ]);
    expect(await history(historyUid)).toEqual(['human: tell me', 'ai: Hello there. I was about to say']);
    await c.close();
  });

  test('a synthesis that hangs: one tts_timeout error, the sentence shown without voice, the chain closed', async () => {
    const { c, historyUid } = await client(harness.server.wsUrl);
    harness.fake.llm = () => ({ tokens: tokens('First sentence. Second one hangs. Third sentence.') });
    harness.fake.tts.stallWhen = (text) => text.includes('hangs');
    try {
      c.send({ type: 'text-input', text: 'speak', images: [] });
      await c.next('backend-synth-complete');
      c.send({ type: 'frontend-playback-complete' });
      await c.waitUntil((fs) => fs.some(isChainEnd), 3000, 'chain end');
    } finally {
      harness.fake.tts.stallWhen = undefined;
    }
    expect(c.ofType('error')).toEqual([
      {
        type: 'error',
        code: 'tts_timeout',
        message: 'Speech synthesis (openai_tts) did not finish a sentence within 400 ms; the rest of this reply is shown without voice',
      },
    ]);
    const texts = c.ofType('audio').map((f: F) => f.display_text.text);
    expect(texts).toEqual(['First sentence. ', 'Second one hangs. ', 'Third sentence.']);
    expect(c.ofType('audio')[1]!.audio).toBeNull();
    await until('the stalled synthesis closed', () => harness.fake.speechRequests().filter((r) => r.body.input.includes('hangs')).every((r) => r.abortedAt !== undefined), 3000);
    expect(await history(historyUid)).toEqual(['human: speak', 'ai: First sentence. Second one hangs. Third sentence.']);
    await c.close();
  });

  test('a recognizer that hangs: one asr_timeout error, the chain closed, the model never asked', async () => {
    const { c } = await client(harness.server.wsUrl);
    harness.fake.asr.stall = true;
    const asked = harness.fake.chatRequests().length;
    try {
      c.send({ type: 'mic-audio-data', audio: Array.from({ length: 1600 }, (_, i) => Math.sin(i / 10) * 0.3) });
      c.send({ type: 'mic-audio-end', images: [] });
      await c.waitUntil((fs) => fs.some(isChainEnd), 3000, 'chain end');
    } finally {
      harness.fake.asr.stall = false;
    }
    expect(c.ofType('error')).toEqual([{ type: 'error', code: 'asr_timeout', message: 'Speech recognition failed: openai_compatible_asr did not answer within 400 ms' }]);
    expect(harness.fake.chatRequests().length).toBe(asked);
    await c.close();
  });

  test('a stalled group speaker holds nobody: both members get its error and chain-end, then the next member speaks', async () => {
    const a = await client(harness.server.wsUrl);
    const b = await client(harness.server.wsUrl);
    for (const m of [a, b]) {
      m.c.ws.on('message', (data) => {
        if ((JSON.parse(String(data)) as F).type === 'backend-synth-complete') m.c.send({ type: 'frontend-playback-complete' });
      });
    }
    a.c.send({ type: 'add-client-to-group', invitee_uid: b.uid });
    await until('b joined', () => (b.c.ofType('group-update').at(-1) as F | undefined)?.members.length === 2);
    a.c.frames.length = 0;
    b.c.frames.length = 0;
    let calls = 0;
    harness.fake.llm = () => (++calls === 1 ? { tokens: [], stall: true } : { tokens: tokens('The second speaker answers.') });
    a.c.send({ type: 'text-input', text: 'hello both', images: [] });
    await until('both chains closed', () => chainEnds(a.c) === 2 && chainEnds(b.c) === 2, 5000);
    for (const m of [a, b]) expect(m.c.ofType('error').map((f: F) => f.code)).toEqual(['llm_timeout']);
    // The first speaker was a's character (the initiator's); the second, b's, spoke to b's client.
    expect(spoken(b.c)).toEqual([['The second speaker answers.', true]]);
    expect(spoken(a.c)).toEqual([]);
    await a.c.close();
    await b.c.close();
  });
});
