import fc from 'fast-check';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from '../helpers/engine-config.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { settleTo } from '../helpers/process-probes.js';
import { startTestServer } from '../helpers/test-server.js';
import { TestClient, sleep, type Frame } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

type Step =
  | { kind: 'text'; text: string }
  | { kind: 'interrupt' }
  | { kind: 'playback' }
  | { kind: 'wait'; ms: number }
  | { kind: 'switch'; file: string }
  | { kind: 'heartbeat' }
  | { kind: 'fetch' }
  | { kind: 'voice' }
  | { kind: 'proactive' }
  | { kind: 'garbage' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('Hi!', 'Tell me a story', 'What?').map((text) => ({ kind: 'text' as const, text })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'interrupt' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'playback' as const }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }).map((ms) => ({ kind: 'wait' as const, ms })) },
  { weight: 1, arbitrary: fc.constantFrom('en_unhelpful_ai.yaml', 'conf.yaml').map((file) => ({ kind: 'switch' as const, file })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'heartbeat' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fetch' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'voice' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'proactive' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'garbage' as const }) },
);

const isControl = (f: Frame, text: string) => f.type === 'control' && f.text === text;

/**
 * The protocol's invariants over everything the server sent, cut into chains at each conversation-chain-start:
 * at most one backend-synth-complete and one chain-end per chain, no audio after either, force-new-message right
 * before chain-end, and nothing of a chain after its end.
 */
function checkChains(frames: Frame[]): void {
  const chains: Frame[][] = [];
  for (const frame of frames) {
    if (isControl(frame, 'conversation-chain-start')) chains.push([]);
    else if (chains.length > 0) chains[chains.length - 1]!.push(frame);
  }
  for (const chain of chains) {
    const turnFrames = chain.filter((f) => ['audio', 'backend-synth-complete', 'force-new-message', 'control'].includes(f.type));
    const synth = turnFrames.findIndex((f) => f.type === 'backend-synth-complete');
    const end = turnFrames.findIndex((f) => isControl(f, 'conversation-chain-end'));
    expect(turnFrames.filter((f) => f.type === 'backend-synth-complete').length).toBeLessThanOrEqual(1);
    expect(turnFrames.filter((f) => isControl(f, 'conversation-chain-end')).length).toBeLessThanOrEqual(1);
    if (synth >= 0) expect(turnFrames.slice(synth).some((f) => f.type === 'audio')).toBe(false);
    if (end >= 0) {
      expect(turnFrames[end - 1]?.type).toBe('force-new-message');
      expect(turnFrames.slice(end + 1)).toEqual([]);
    }
  }
}

describe('random protocol sessions (model-based): invariants hold and nothing is left behind', () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    fake = await startFakeAiServer();
    fake.llm = () => ({ tokens: tokens('[joy] Hello there! How are you? I am fine, thanks.'), delayMs: 3 });
    fake.tts.delayMs = 5;
    fake.asr.text = 'voice input';
    useFakeEngines(fixture.root, fake.baseUrl, { 'system_config.playback_slack_seconds': 0.2 });
    server = await startTestServer(fixture.root);
  });
  afterAll(async () => {
    await server.stop();
    await fake.close();
    fixture.cleanup();
  });

  test('100 random command sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const client = await TestClient.connect(server.wsUrl);
        try {
        await client.ready();
        let heartbeats = 0;
        let garbage = 0;
        for (const s of steps) {
          if (s.kind === 'text') client.send({ type: 'text-input', text: s.text, images: [] });
          else if (s.kind === 'interrupt') client.send({ type: 'interrupt-signal', text: '' });
          else if (s.kind === 'playback') client.send({ type: 'frontend-playback-complete' });
          else if (s.kind === 'wait') await sleep(s.ms);
          else if (s.kind === 'switch') client.send({ type: 'switch-config', file: s.file });
          else if (s.kind === 'heartbeat') (heartbeats++, client.send({ type: 'heartbeat' }));
          else if (s.kind === 'fetch') client.send({ type: 'fetch-configs' });
          else if (s.kind === 'voice') {
            client.send({ type: 'mic-audio-data', audio: [0.1, -0.1, 0.2] });
            client.send({ type: 'mic-audio-end', images: [] });
          } else if (s.kind === 'proactive') client.send({ type: 'ai-speak-signal', idle_time: 5, images: [] });
          else (garbage++, client.send('{not json'));
        }
        // Let the last turn finish: playback reported until the chain ends (or the bound ends it).
        client.send({ type: 'heartbeat' });
        await client.next('heartbeat-ack', heartbeats + 1, 5000);
        await sleep(150);
        client.send({ type: 'frontend-playback-complete' });
        await sleep(300);
        checkChains(client.frames);
        expect(client.ofType('heartbeat-ack')).toHaveLength(heartbeats + 1);
        expect(client.ofType('error').filter((e) => String(e.message).startsWith('Invalid frame: not valid JSON'))).toHaveLength(garbage);
        } finally {
          await client.close();
        }
        expect(await settleTo(() => server.census.countExcept(SERVER_ACTOR_KINDS), 0, 2000)).toBe(0);
      }),
      { numRuns: 100 },
    );
    expect(await settleTo(() => fake.openResponses(), 0, 2000)).toBe(0);
  }, 300_000);
});
