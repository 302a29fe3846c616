import { createActor, fromPromise, sendTo, setup, SimulatedClock } from 'xstate';
import type { RecallRequest, TurnRecall, TurnTrigger } from '../../machines/turn-contract.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { fakeLlm, turnInputFor, turnWithSlots } from '../helpers/run-turn.js';

/**
 * The turn's recall (long-term memory) on a simulated clock: asked with the user's words before the model, its lines
 * after the system prompt; a recall that fails or overruns its bound leaves the turn answering without memories.
 */

const RECALL: TurnRecall = { confUid: 'mao', historyUid: 'h2', topK: 5, maxCharacters: 1200, deadlineMs: 200, names: { human: 'Human', ai: 'Mao' } };
const REMEMBERED = "Things you remember from earlier conversations with the user (date, who said it):\n[2026-12-01] Human: my sister's name is Ana";

function recallTurn(text: TurnTrigger | string, recall: (request: RecallRequest, signal: AbortSignal) => Promise<string>, withRecall = true) {
  const clock = new SimulatedClock();
  const llm = fakeLlm({ deltas: ['Her name is Ana.'] });
  const asked: RecallRequest[] = [];
  const frames: ServerFrame[] = [];
  const turn = turnWithSlots().provide({
    actors: { recallMemories: fromPromise<string, RecallRequest>(({ input, signal }) => (asked.push(input), recall(input, signal))) },
  });
  const input = { ...turnInputFor(text, { llm }, clock), ...(withRecall ? { recall: RECALL } : {}) };
  const parent = setup({ actors: { turn } }).createMachine({
    invoke: { id: 'turn', src: 'turn', input },
    on: {
      'turn.frame': { actions: ({ event }) => frames.push((event as unknown as { frame: ServerFrame }).frame) },
      'playback.complete': { actions: sendTo('turn', { type: 'playback.complete' }) },
    },
  });
  createActor(parent, { clock }).start();
  const settle = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, llm, asked, frames, settle };
}

describe('a turn recalls memories before it asks the model', () => {
  test('asked with the user\'s words and the conversation to leave out; what it recalls follows the system prompt', async () => {
    const t = recallTurn('what is my sister called?', async () => REMEMBERED);
    await t.settle();
    expect(t.asked).toEqual([{ ...RECALL, clientUid: 'run-turn', query: 'what is my sister called?' }]);
    expect(t.llm.requests.map((r) => r.system)).toEqual([`You are Mao.\n\n${REMEMBERED}`]);
  });

  test('nothing recalled: the system prompt as it was', async () => {
    const t = recallTurn('hello', async () => '');
    await t.settle();
    expect(t.llm.requests.map((r) => r.system)).toEqual(['You are Mao.']);
  });

  test('a recall that fails: the turn answers without memories', async () => {
    const t = recallTurn('hello', async () => {
      throw new Error('index unreadable');
    });
    await t.settle();
    expect(t.llm.requests.map((r) => r.system)).toEqual(['You are Mao.']);
    expect(t.frames.some((f) => f.type === 'audio')).toBe(true);
  });

  test('a recall past its bound is abandoned exactly at it, and the model is asked without memories', async () => {
    const t = recallTurn('hello', (_, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(REMEMBERED))));
    await t.settle();
    t.clock.increment(199);
    await t.settle();
    expect(t.llm.requests).toEqual([]);
    t.clock.increment(1);
    await t.settle();
    expect(t.llm.requests.map((r) => r.system)).toEqual(['You are Mao.']);
  });

  test('memory off, or a proactive turn: nothing is recalled', async () => {
    const off = recallTurn('hello', async () => REMEMBERED, false);
    await off.settle();
    expect(off.asked).toEqual([]);
    const proactive = recallTurn({ kind: 'proactive', prompt: 'Say something.', images: [] }, async () => REMEMBERED);
    await proactive.settle();
    expect(proactive.asked).toEqual([]);
    expect(proactive.llm.requests.map((r) => r.system)).toEqual(['You are Mao.']);
  });
});
