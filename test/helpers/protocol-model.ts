import fc from 'fast-check';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from './engine-config.js';
import { makeFixtureRoot } from './fixture-root.js';
import { isChainEnd, isChainStart } from './frames.js';
import { settleTo } from './process-probes.js';
import { startTestServer } from './test-server.js';
import { TestClient, type Frame } from './ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

/**
 * A small model of the protocol for model-based tests (fast-check `fc.commands`): what one client may send and what
 * the server owes it in return. Each command sends its frames over a real socket and waits for the event that shows
 * the server has handled them (a chain-start, an ack, an answer), never for time, so the model knows the state the
 * session is in when the next command runs. The turn itself keeps running between commands (tokens and syntheses
 * arrive while later commands are sent), so interrupts, new input and switches land at whatever point it has reached;
 * what the server owes does not depend on that point:
 *
 *   a chain that finished (playback reported) or that new input replaced  → exactly one conversation-chain-end
 *   a chain the client interrupted, or that a character switch stopped     → none (the client ends it itself)
 *
 * and in every chain at most one backend-synth-complete, after its last audio (exactly one if the chain finished),
 * force-new-message right before its chain-end, and nothing of the chain after its end (or after the interrupt or
 * switch that stopped it was answered).
 */

export type ChainFate = 'open' | 'finished' | 'replaced' | 'interrupted' | 'switched';

export interface ChainModel {
  fate: ChainFate;
  /** Frames received when the stop of this chain had certainly been handled (interrupted / switched). */
  cutAt?: number;
}

export interface ProtocolModel {
  responding: boolean;
  chains: ChainModel[];
  heartbeats: number;
  fetches: number;
  garbage: number;
  switches: number;
}

export interface ProtocolReal {
  client: TestClient;
}

export const initialModel = (): ProtocolModel => ({ responding: false, chains: [], heartbeats: 0, fetches: 0, garbage: 0, switches: 0 });

/** Frames that belong to a turn (everything else is an answer to a request). */
const isTurnFrame = (f: Frame) =>
  ['audio', 'backend-synth-complete', 'force-new-message', 'user-input-transcription', 'tool_call_status'].includes(f.type) ||
  isChainEnd(f) ||
  (f.type === 'full-text' && f.text === 'Thinking...');

/** Frames since the latest conversation-chain-start. */
const currentChain = (frames: Frame[]) => {
  let start = frames.length - 1;
  while (start >= 0 && !isChainStart(frames[start]!)) start--;
  return frames.slice(Math.max(0, start));
};

const WAIT_MS = 10_000;

/** New conversation input: text, voice, or the client's idle signal. A running turn is replaced (and owed its end). */
class InputCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  constructor(readonly kind: 'text' | 'voice' | 'proactive', readonly text = 'Hi!') {}
  check = () => true;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    if (this.kind === 'text') r.client.send({ type: 'text-input', text: this.text, images: [] });
    else if (this.kind === 'voice') {
      r.client.send({ type: 'mic-audio-data', audio: [0.1, -0.1, 0.2] });
      r.client.send({ type: 'mic-audio-end', images: [] });
    } else r.client.send({ type: 'ai-speak-signal', idle_time: 5, images: [] });
    if (m.responding) m.chains.at(-1)!.fate = 'replaced';
    m.chains.push({ fate: 'open' });
    m.responding = true;
    await r.client.waitUntil((fs) => fs.filter(isChainStart).length === m.chains.length, WAIT_MS, `chain-start ${m.chains.length}`);
  }
  toString = () => (this.kind === 'text' ? `text(${this.text})` : this.kind);
}

/** The client heard the whole reply: it waits for backend-synth-complete, reports playback, and the chain ends. */
class FinishPlaybackCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  check = (m: Readonly<ProtocolModel>) => m.responding;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    await r.client.waitUntil((fs) => currentChain(fs).some((f) => f.type === 'backend-synth-complete'), WAIT_MS, 'backend-synth-complete');
    r.client.send({ type: 'frontend-playback-complete' });
    await r.client.waitUntil((fs) => currentChain(fs).some(isChainEnd), WAIT_MS, 'chain-end');
    m.chains.at(-1)!.fate = 'finished';
    m.responding = false;
  }
  toString = () => 'finishPlayback';
}

/** interrupt-signal: a running turn stops silently; with none running nothing changes. */
class InterruptCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  check = () => true;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    r.client.send({ type: 'interrupt-signal', text: '' });
    await r.client.roundTrip(WAIT_MS);
    m.heartbeats++;
    if (m.responding) Object.assign(m.chains.at(-1)!, { fate: 'interrupted', cutAt: r.client.frames.length });
    m.responding = false;
  }
  toString = () => 'interrupt';
}

/** A frontend-playback-complete with no turn running (a late copy, U12): nothing happens. */
class StrayPlaybackCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  check = (m: Readonly<ProtocolModel>) => !m.responding;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    r.client.send({ type: 'frontend-playback-complete' });
    await r.client.roundTrip(WAIT_MS);
    m.heartbeats++;
  }
  toString = () => 'strayPlayback';
}

/** switch-config to a character file: a running turn is stopped (no chain-end); the switch answers. */
class SwitchCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  constructor(readonly file: string) {}
  check = () => true;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    r.client.send({ type: 'switch-config', file: this.file });
    m.switches++;
    await r.client.next('config-switched', m.switches, WAIT_MS);
    if (m.responding) Object.assign(m.chains.at(-1)!, { fate: 'switched', cutAt: r.client.frames.length });
    m.responding = false;
  }
  toString = () => `switch(${this.file})`;
}

class HeartbeatCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  check = () => true;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    await r.client.roundTrip(WAIT_MS);
    m.heartbeats++;
  }
  toString = () => 'heartbeat';
}

class FetchConfigsCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  check = () => true;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    r.client.send({ type: 'fetch-configs' });
    m.fetches++;
    await r.client.next('config-files', m.fetches, WAIT_MS);
  }
  toString = () => 'fetchConfigs';
}

/** A frame that is not JSON: exactly one error frame, nothing else changes. */
class GarbageCommand implements fc.AsyncCommand<ProtocolModel, ProtocolReal> {
  check = () => true;
  async run(m: ProtocolModel, r: ProtocolReal): Promise<void> {
    r.client.send('{not json');
    m.garbage++;
    await r.client.next('error', m.garbage, WAIT_MS);
  }
  toString = () => 'garbage';
}

export const protocolCommands = fc.commands(
  [
    fc.constantFrom('Hi!', 'Tell me a story', 'What?').map((text) => new InputCommand('text', text)),
    fc.constant(new InputCommand('voice')),
    fc.constant(new InputCommand('proactive')),
    fc.constant(new FinishPlaybackCommand()),
    fc.constant(new FinishPlaybackCommand()),
    fc.constant(new InterruptCommand()),
    fc.constant(new InterruptCommand()),
    fc.constant(new StrayPlaybackCommand()),
    fc.constantFrom('en_unhelpful_ai.yaml', 'conf.yaml').map((file) => new SwitchCommand(file)),
    fc.constantFrom('en_storyteller.yaml', 'conf.yaml').map((file) => new SwitchCommand(file)),
    fc.constant(new HeartbeatCommand()),
    fc.constant(new FetchConfigsCommand()),
    fc.constant(new GarbageCommand()),
  ],
  { maxCommands: 20, size: 'medium' },
);

/**
 * What the server sent over the whole run, checked against the model: the answers it owed, and per chain the
 * exactly-once rules above. `frames` start after the connect sequence.
 */
export function checkAgainstModel(m: ProtocolModel, frames: Frame[]): void {
  const starts = frames.flatMap((f, i) => (isChainStart(f) ? [i] : []));
  expect(starts).toHaveLength(m.chains.length);
  expect(frames.slice(0, starts[0] ?? frames.length).filter(isTurnFrame)).toEqual([]);
  m.chains.forEach((chain, n) => {
    const from = starts[n]!;
    const to = starts[n + 1] ?? frames.length;
    const turn = frames.slice(from + 1, to).map((f, i) => ({ f, at: from + 1 + i })).filter(({ f }) => isTurnFrame(f));
    const where = `chain ${n + 1} (${chain.fate})`;
    const ends = turn.filter(({ f }) => isChainEnd(f));
    expect([where, ends.length]).toEqual([where, chain.fate === 'finished' || chain.fate === 'replaced' ? 1 : 0]);
    const synth = turn.filter(({ f }) => f.type === 'backend-synth-complete');
    expect([where, synth.length <= 1, chain.fate !== 'finished' || synth.length === 1]).toEqual([where, true, true]);
    if (synth.length === 1) {
      const lastAudio = turn.filter(({ f }) => f.type === 'audio').at(-1);
      expect([where, lastAudio !== undefined && lastAudio.at < synth[0]!.at]).toEqual([where, true]);
    }
    if (ends.length === 1) {
      const end = turn.findIndex(({ f }) => isChainEnd(f));
      expect([where, turn[end - 1]?.f.type, turn.slice(end + 1).map(({ f }) => f.type)]).toEqual([where, 'force-new-message', []]);
    }
    if (chain.cutAt !== undefined) expect([where, turn.filter(({ at }) => at >= chain.cutAt!).map(({ f }) => f.type)]).toEqual([where, []]);
  });
  expect(frames.filter((f) => f.type === 'heartbeat-ack')).toHaveLength(m.heartbeats);
  expect(frames.filter((f) => f.type === 'config-files')).toHaveLength(m.fetches);
  expect(frames.filter((f) => f.type === 'config-switched')).toHaveLength(m.switches);
  expect(frames.filter((f) => f.type === 'error')).toEqual(Array(m.garbage).fill({ type: 'error', code: 'invalid_frame', message: expect.stringMatching(/^Invalid frame: not valid JSON/) }));
}

/**
 * Random command sequences (fast-check `fc.commands`) against the real server over a socket, checked against a
 * small model of the protocol (test/helpers/protocol-model.ts): every chain gets exactly the chain-end it is owed,
 * backend-synth-complete at most once and after the last audio, every request its one answer, and after the
 * socket closes zero session actors and no open request at the fake engines.
 */
export function describeProtocolModel(runs: number): void {
  describe(`the protocol against its model: ${runs} random command sequences`, () => {
    const fixture = makeFixtureRoot();
    let fake: FakeAiServer;
    let server: Awaited<ReturnType<typeof startTestServer>>;

    beforeAll(async () => {
      fake = await startFakeAiServer();
      fake.llm = () => ({ tokens: tokens('[joy] Hello there! How are you? I am fine, thanks.'), delayMs: 3 });
      fake.tts.delayMs = 5;
      fake.asr.text = 'voice input';
      // A turn ends when the client reports playback (or is stopped): the bound never decides within a run.
      useFakeEngines(fixture.root, fake.baseUrl, { 'system_config.playback_slack_seconds': 60 });
      server = await startTestServer(fixture.root);
    });
    afterAll(async () => {
      await server.stop();
      await fake.close();
      fixture.cleanup();
    });

    test('every chain gets exactly what it is owed; every request one answer; nothing is left after close', async () => {
      const fates = new Map<ChainFate, number>();
      await fc.assert(
        fc.asyncProperty(protocolCommands, async (commands) => {
          const client = await TestClient.connect(server.wsUrl);
          let model: ProtocolModel | undefined;
          try {
            await client.ready();
            await fc.asyncModelRun(async () => {
              model = initialModel();
              return { model, real: { client } satisfies ProtocolReal };
            }, commands);
            // A last round trip: whatever the commands caused has arrived (a chain still open stays open: no bound ends it).
            await client.roundTrip(10_000);
            model!.heartbeats++;
            checkAgainstModel(model!, client.frames);
            for (const chain of model!.chains) fates.set(chain.fate, (fates.get(chain.fate) ?? 0) + 1);
          } finally {
            await client.close();
          }
          expect(await settleTo(() => server.census.countExcept(SERVER_ACTOR_KINDS), 0, 5000)).toBe(0);
        }),
        { numRuns: runs },
      );
      expect(await settleTo(() => fake.openResponses(), 0, 5000)).toBe(0);
      // The sequences did exercise every way a chain can end (a generator that never interrupts proves little).
      for (const fate of ['finished', 'replaced', 'interrupted', 'switched'] as const) expect([fate, (fates.get(fate) ?? 0) > 0]).toEqual([fate, true]);
    }, 600_000);
  });
}
