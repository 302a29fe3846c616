import { createActor, fromCallback, fromPromise, setup, type AnyActorRef, type EventObject } from 'xstate';
import { ttsPipelineMachine, type SynthResult } from '../../machines/tts-pipeline.machine.js';
import { turnMachine, type TurnInput } from '../../machines/turn.machine.js';
import { ttsPreprocessorConfigSchema } from '../../src/config/conf-schema.js';
import type { LlmRequest } from '../../src/engines/llm/llm-engine.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { until } from '../helpers/ws-client.js';

/** A model that asks for `echo` once, then answers. Fake actors at the edge of the turn machine. */
const llmStream = fromCallback<EventObject, { engine: unknown; request: LlmRequest; clientUid: string }>(({ input, sendBack }) => {
  void Promise.resolve().then(() => {
    if ((input.request.rounds ?? []).length === 0) sendBack({ type: 'llm.done', toolCalls: [{ id: 'c1', name: 'echo', arguments: '{"text":"x"}' }] });
    else {
      sendBack({ type: 'llm.delta', text: 'Done without it.' });
      sendBack({ type: 'llm.done', toolCalls: [] });
    }
  });
});

/** A toolbox that lists its tool, then never answers a call (as a stopped one would not). */
function silentToolbox(): AnyActorRef {
  return createActor(
    fromCallback<EventObject>(({ receive }) => {
      receive((event) => {
        const e = event as { type: string; replyTo?: AnyActorRef };
        if (e.type === 'tools.list') e.replyTo!.send({ type: 'tools.listed', tools: [{ name: 'echo', description: '', inputSchema: {}, server: 's' }], problems: [] });
      });
    }),
  ).start();
}

function runTurn(input: TurnInput) {
  const frames: ServerFrame[] = [];
  const turn = turnMachine.provide({
    actors: {
      llmStream,
      ttsPipeline: ttsPipelineMachine.provide({ actors: { synthesize: fromPromise<SynthResult, { text: string; engine: unknown }>(async () => ({ audio: null, volumes: [], durationMs: 0 })) } }),
    },
  });
  const parent = setup({ actors: { turn } }).createMachine({
    initial: 'running',
    states: {
      running: {
        invoke: { src: 'turn', input, onDone: 'done' },
        on: { 'turn.frame': { actions: ({ event }) => frames.push((event as unknown as { frame: ServerFrame }).frame) } },
      },
      done: { type: 'final' },
    },
  });
  const actor = createActor(parent).start();
  return { actor, frames };
}

test('a toolbox that never answers does not hold the turn: an error status after its bound, then the reply', async () => {
  const input: TurnInput = {
    clientUid: 'test',
    trigger: { kind: 'text', text: 'hi', images: [] },
    speaker: { name: 'Mao', avatar: '' },
    emotionMap: {},
    preprocessor: ttsPreprocessorConfigSchema.parse({}),
    fasterFirstResponse: true,
    system: 'system',
    memory: [],
    engines: { llm: {}, tts: {} },
    ttsConcurrency: 1,
    playbackSlackMs: 0,
    tools: { toolbox: silentToolbox(), mode: 'native', maxSteps: 8, promptTemplate: '', answerBoundMs: 50 },
  };
  const started = Date.now();
  const { actor, frames } = runTurn(input);
  await until('the turn ended', () => actor.getSnapshot().status === 'done', 5000);
  const elapsed = Date.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(2000);
  expect(elapsed).toBeLessThan(4000);
  const statuses = frames.filter((f) => f.type === 'tool_call_status').map((f) => (f as { status: string; content: string }));
  expect(statuses.map((s) => `${s.status}:${s.content}`)).toEqual(['running:Input: {"text":"x"}', 'error:Error: the tool server did not answer']);
  expect(frames.filter((f) => f.type === 'audio').map((f) => (f as { display_text: { text: string } }).display_text.text)).toEqual(['Done without it.']);
});
