import { assign, enqueueActions } from 'xstate';
import { initialToolJson } from '../src/agent/tool-call-json.js';
import type { ToolCallRequest } from '../src/engines/llm/llm-request.js';
import type { TurnContext, TurnOutputEvent } from './turn-contract.js';
import { currentCall, overStepCapMessage, resolveCall, resolveCurrentCall, statusFrame } from './turn-tool-calls.js';
import type { ToolCallInput } from './turn-toolbox.js';
import { frameEvent, placeFrames, turnSetup } from './turn-setup.js';

/**
 * The turn's tool loop: the tools are listed once (`listingTools`), then each answer of the model that asks for tools
 * (`thinking` ends with its calls) runs them one by one through the session's toolbox (`usingTools`), reports each as
 * `tool_call_status` in sentence order (through the TTS pipeline), and asks the model again with the results, at most
 * `maxSteps` times. Models without native tools get the tools in the prompt and answer with JSON, which the speech
 * planner catches before it is spoken.
 */

/** What the toolbox is asked to run for the current call (resolved: `callCannotRun` was checked before). */
function toolCallInput(context: TurnContext): ToolCallInput {
  const call = currentCall(context);
  const resolved = resolveCall(call, context.toolList) as { server: string; args: Record<string, unknown> };
  return { toolbox: context.tools!.toolbox, server: resolved.server, tool: call.name, args: resolved.args };
}

/** The current call's answer (or failure): its status frame, and its result kept for the model. */
function callAnswered(context: TurnContext, result: { content: string; isError: boolean }) {
  const call = currentCall(context);
  return {
    frames: [statusFrame(context, call, result.isError ? 'error' : 'completed', result.content)],
    update: { roundResults: [...context.roundResults, { id: call.id, content: result.content, isError: result.isError }] },
  };
}

export const withToolLoop = turnSetup.extend({
  actions: {
    /** The listed tools, and one error frame per server that could not give its tools. */
    takeToolList: enqueueActions(({ enqueue }, listed: { tools: TurnContext['toolList']; problems: string[] }) => {
      enqueue.assign({ toolList: listed.tools });
      for (const problem of listed.problems) enqueue.sendParent(frameEvent({ type: 'error', code: 'mcp', message: `MCP: ${problem}` }));
    }),
    /** The calls the model asked for at the end of its answer (native tools). */
    takeNativeCalls: assign((_, calls: ToolCallRequest[]) => ({ pendingCalls: calls })),
    /** The model refused native tools: this call is asked again with the tools in the prompt, and so are later turns. */
    useToolsInPrompt: enqueueActions(({ enqueue }) => {
      enqueue.assign({ toolMode: 'prompt', roundText: '', jsonScan: initialToolJson() });
      enqueue.sendParent({ type: 'turn.tool-mode', mode: 'prompt' } satisfies TurnOutputEvent);
    }),
    /** Calls beyond the step cap are not run: each gets an error status, in its place among the sentences. */
    reportStepCap: placeFrames((context) => {
      const message = overStepCapMessage(context.tools?.maxSteps ?? 0);
      return { frames: context.pendingCalls.map((call) => statusFrame(context, call, 'error', message)) };
    }),
    /** The current call runs: its `running` status, with its arguments. */
    reportCallRunning: placeFrames((context) => {
      const resolved = resolveCurrentCall(context) as { args: Record<string, unknown> };
      return { frames: [statusFrame(context, currentCall(context), 'running', `Input: ${JSON.stringify(resolved.args)}`)] };
    }),
    /** The current call's answer: its status, and its result for the model. */
    takeToolResult: placeFrames((context, result: { content: string; isError: boolean }) => callAnswered(context, result)),
    /** The current call failed or cannot run: its error status, and the error as its result for the model. */
    failCall: placeFrames((context, content: string) => callAnswered(context, { content, isError: true })),
    /** Every call of the round answered: the round is kept for the model's next call. */
    closeRound: assign(({ context }) => ({
      rounds: [...context.rounds, { mode: context.toolMode, text: context.roundText, calls: context.pendingCalls, results: context.roundResults }],
      roundText: '',
      pendingCalls: [],
      roundResults: [],
      jsonScan: initialToolJson(),
    })),
  },
  guards: {
    /** The model's answer asked for tools: native calls at its end, or prompt-mode JSON that just completed. */
    callsTools: ({ context }) => context.toolList.length > 0 && context.pendingCalls.length > 0,
    nativeCalls: ({ context, event }) =>
      event.type === 'llm.done' && context.toolMode === 'native' && context.toolList.length > 0 && (event.toolCalls?.length ?? 0) > 0,
    refusedTools: ({ context, event }) => event.type === 'llm.error' && event.toolsUnsupported === true && context.toolMode === 'native',
    overStepCap: ({ context }) => context.rounds.length >= (context.tools?.maxSteps ?? 0),
    allCalled: ({ context }) => context.roundResults.length >= context.pendingCalls.length,
    callCannotRun: ({ context }) => 'error' in resolveCurrentCall(context),
  },
  delays: {
    /**
     * A toolbox that never answers (it was stopped: the speaker of a group turn switched character) must not hold
     * the turn: the toolbox's own bounds come first, this one only after them.
     */
    toolboxSilence: ({ context }) => (context.tools?.answerBoundMs ?? 0) * 2 + 2000,
  },
});

/** The tool list, asked for once per turn; a toolbox that does not answer leaves the model without tools. */
export const listingTools = withToolLoop.createStateConfig({
  invoke: { src: 'toolList', input: ({ context }) => ({ toolbox: context.tools!.toolbox }) },
  after: {
    toolboxSilence: {
      target: 'thinking',
      actions: { type: 'sendFrame', params: { type: 'error', code: 'mcp', message: 'MCP: the tools did not answer; replying without them' } },
    },
  },
  on: {
    'tools.listed': { target: 'thinking', actions: { type: 'takeToolList', params: ({ event }) => event } },
  },
});

/** The calls of one answer, run one by one; then the model is asked again (`thinking`). */
export const usingTools = withToolLoop.createStateConfig({
  entry: 'flushSentences',
  initial: 'checking',
  states: {
    checking: {
      always: [
        // The step cap: calls beyond it are not run, and the turn ends with what was said.
        { guard: 'overStepCap', target: '#turn.speaking', actions: ['reportStepCap', 'finishText'] },
        { target: 'next' },
      ],
    },
    next: {
      always: [
        { guard: 'allCalled', target: '#turn.thinking', actions: 'closeRound' },
        {
          guard: 'callCannotRun',
          target: 'next',
          reenter: true,
          actions: { type: 'failCall', params: ({ context }) => `Error: ${(resolveCurrentCall(context) as { error: string }).error}` },
        },
        { target: 'calling' },
      ],
    },
    calling: {
      entry: 'reportCallRunning',
      invoke: { src: 'toolCall', input: ({ context }) => toolCallInput(context) },
      after: {
        toolboxSilence: { target: 'next', actions: { type: 'failCall', params: 'Error: the tool server did not answer' } },
      },
      on: {
        'tool.result': { target: 'next', actions: { type: 'takeToolResult', params: ({ event }) => event } },
      },
    },
  },
});
