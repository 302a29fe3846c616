import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { isChainEnd } from '../helpers/frames.js';
import { engineDeadlines } from '../../src/session/session-actors.js';

type F = Record<string, any>;

/**
 * Engine deadlines over a real socket: only what a socket shows. The scenarios themselves (a model silent from the
 * start or stalling mid-reply, a synthesis or a transcription that hangs, a stalled group speaker: each bound exact,
 * the error frame, the chain closed) are tested once, on a simulated clock, in test/machines/engine-deadlines.test.ts.
 * Here: the bounds come from system_config; a stalled engine's HTTP request is really closed at the bound; the reply
 * as shown is in the history on disk; the session answers the next input.
 */
const BOUNDS = {
  'system_config.llm_first_output_timeout_seconds': 0.4,
  'system_config.llm_idle_timeout_seconds': 0.4,
  'system_config.tts_timeout_seconds': 0.4,
  'system_config.asr_timeout_seconds': 0.4,
  'system_config.playback_slack_seconds': 0.2,
};

const spoken = (c: TestClient) => c.ofType('audio').map((f: F) => [f.display_text.text, f.audio !== null]);

async function client(url: string): Promise<{ c: TestClient; historyUid: string }> {
  const c = await TestClient.connect(url);
  await c.ready();
  c.send({ type: 'create-new-history' });
  const historyUid = (await c.next('new-history-created')).history_uid as string;
  c.frames.length = 0;
  return { c, historyUid };
}

describe('engine deadlines over a socket', () => {
  const harness = useFakeEngineServer({ conf: BOUNDS });
  const history = async (historyUid: string) => {
    await harness.server.history.flush();
    return (await harness.server.history.read('mao_pro_001', historyUid)).map((m) => `${m.role}: ${m.content}`);
  };

  test('the four bounds are read from system_config', () => {
    expect(engineDeadlines(harness.server.app)).toEqual({ llmFirstOutputMs: 400, llmIdleMs: 400, synthesisMs: 400, transcriptionMs: 400 });
  });

  test('a model that never answers: its HTTP request is closed at the bound, and the session answers the next input', async () => {
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

  test('a synthesis that hangs: its HTTP request is closed, and the reply as shown is in the history on disk', async () => {
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
    expect(c.ofType('error').map((f: F) => f.code)).toEqual(['tts_timeout']);
    expect(c.ofType('audio').map((f: F) => f.display_text.text)).toEqual(['First sentence. ', 'Second one hangs. ', 'Third sentence.']);
    expect(c.ofType('audio')[1]!.audio).toBeNull();
    await until('the stalled synthesis closed', () => harness.fake.speechRequests().filter((r) => r.body.input.includes('hangs')).every((r) => r.abortedAt !== undefined), 3000);
    expect(await history(historyUid)).toEqual(['human: speak', 'ai: First sentence. Second one hangs. Third sentence.']);
    await c.close();
  });
});
