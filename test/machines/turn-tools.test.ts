import { createActor, fromCallback, type AnyActorRef, type EventObject } from 'xstate';
import { fakeLlm, runTurn } from '../helpers/run-turn.js';
import type { LlmRequest } from '../../src/engines/llm/llm-request.js';

/** A model that asks for `echo` once, then answers. */
const asksOnceThenAnswers = (request: LlmRequest) =>
  (request.rounds ?? []).length === 0 ? { deltas: [], toolCalls: [{ id: 'c1', name: 'echo', arguments: '{"text":"x"}' }] } : { deltas: ['Done without it.'] };

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

test('a toolbox that never answers does not hold the turn: an error status after its bound, then the reply', async () => {
  // The toolbox's own bound is 50 ms; the turn gives it twice that plus 2 s before it gives up on it.
  const turn = runTurn('hi', {
    llm: fakeLlm(asksOnceThenAnswers),
    input: { playbackSlackMs: 0, tools: { toolbox: silentToolbox(), mode: 'native', maxSteps: 8, promptTemplate: '', answerBoundMs: 50 } },
  });
  await turn.settle();
  expect(turn.outline().filter((f) => f.startsWith('tool:'))).toEqual(['tool:running:Input: {"text":"x"}']);
  turn.clock.increment(2099);
  await turn.settle();
  expect(turn.outline().filter((f) => f.startsWith('tool:'))).toEqual(['tool:running:Input: {"text":"x"}']);
  turn.clock.increment(1);
  await turn.settle();
  expect(turn.outline().filter((f) => f.startsWith('tool:') || f.startsWith('audio:'))).toEqual([
    'tool:running:Input: {"text":"x"}',
    'tool:error:Error: the tool server did not answer',
    'audio:Done without it.',
  ]);
});
