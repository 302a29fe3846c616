import { assign, enqueueActions, fromCallback, fromPromise, sendParent, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { ChatMessage } from '../src/agent/chat-memory.js';
import { sentenceOutput } from '../src/agent/sentence-output.js';
import { flushText, initialSplitter, pushText, type SplitterState, type TextUnit } from '../src/agent/sentence-splitter.js';
import type { CharacterConfig } from '../src/config/conf-schema.js';
import { flushToolJson, initialToolJson, scanToolJson, type ToolJsonState } from '../src/agent/tool-call-json.js';
import { promptModeSystem } from '../src/mcp/tool-catalog.js';
import type { ServerFrame, ToolCallStatusFrame } from '../src/protocol/server-frames.js';
import type { ErrorCode } from '../src/protocol/error-codes.js';
import type { ToolboxReply } from './toolbox.machine.js';
import { DEFAULT_ENGINE_DEADLINES, engineName, formatBound, type EngineDeadlines } from './engine-deadlines.js';
import { ttsPipelineMachine, type PipelineOutputEvent, type SpeechJob } from './tts-pipeline.machine.js';
import type { AsrEngine, LlmEngine, LlmStreamInput, TtsEngine } from './engine-contracts.js';
import type { Clock } from './clock.js';
import type { ImageInput, LlmRequest, ToolCallRequest, ToolCallResult, ToolDefinition, ToolRound } from '../src/engines/llm/llm-request.js';
import { transcriptionMachine } from './transcription.machine.js';

/**
 * One conversation turn, invoked by the session while it is `responding`: leaving that state (interrupt, new input,
 * switch-config, disconnect) stops the turn and, with it, the LLM request, every synthesis and the playback wait.
 *
 *   starting → (transcribing) → (listingTools) → thinking ⇄ usingTools → speaking → awaitingPlayback → finishing → done
 *
 * With MCP tools, `thinking` ends with the calls the model asked for; `usingTools` runs them one by one through the
 * session's toolbox, reports each as `tool_call_status` (in sentence order, through the TTS pipeline) and asks the
 * model again with the results, at most `maxSteps` times. Models without native tools get the tools in the prompt
 * and answer with JSON, which is caught before it is spoken.
 *
 * Frames go to the session as `turn.frame`, in the order of PROTOCOL §5.1; every turn that sent
 * `conversation-chain-start` ends with `conversation-chain-end`, whatever failed on the way (D7).
 */

export type TurnTrigger =
  | { kind: 'text'; text: string; images: ImageInput[] }
  | { kind: 'audio'; samples: Float32Array; images: ImageInput[] }
  | { kind: 'proactive'; prompt: string; images: ImageInput[] };

export interface TurnEngines {
  llm: LlmEngine;
  tts: TtsEngine;
  asr?: AsrEngine;
}

export interface TurnTools {
  /** The session's toolbox actor (tools.list / tool.call). */
  toolbox: AnyActorRef;
  mode: 'native' | 'prompt';
  maxSteps: number;
  /** mcp_prompt: the instructions for prompt mode, with the listing placeholder. */
  promptTemplate: string;
  /** How long the toolbox itself may take to start a server or answer a call; the turn waits a little longer. */
  answerBoundMs: number;
}

export interface TurnInput {
  clientUid: string;
  trigger: TurnTrigger;
  speaker: { name: string; avatar: string };
  emotionMap: Record<string, number | string>;
  /** Keep `[emotion]` tags in `display_text` (system_config.show_emotion_tags); they are removed by default. */
  showEmotionTags?: boolean;
  preprocessor: CharacterConfig['tts_preprocessor_config'];
  fasterFirstResponse: boolean;
  system: string;
  /** The session's memory when the turn starts (the user message is not in it yet). */
  memory: ChatMessage[];
  engines: TurnEngines;
  /** What tool status frames are stamped with. */
  clock: Clock;
  asrUnavailable?: string;
  ttsConcurrency: number;
  playbackSlackMs: number;
  tools?: TurnTools;
  /**
   * The parent records the reply (`turn.finished`) and answers `history.saved` once it is on disk; the chain ends
   * only then, or after `recordDeadlineMs`. Without it the chain ends at once.
   */
  record?: { deadlineMs: number };
  /** Bounds on each engine wait (defaults: DEFAULT_ENGINE_DEADLINES). */
  deadlines?: EngineDeadlines;
}

export interface TurnOutput {
  /** What the user said (transcribed for voice); '' for a proactive turn. */
  userText: string;
  /** The model's whole reply, as it wrote it (memory). */
  reply: string;
  /** The sentences sent, in order, as the model wrote them (history). */
  spoken: string[];
  /** The playback wait ended by its bound, not by the client. */
  playbackTimedOut: boolean;
}

export interface TurnContext extends TurnInput {
  deadlines: EngineDeadlines;
  userText: string;
  splitter: SplitterState;
  reply: string;
  seq: number;
  spoken: string[];
  audioMs: number;
  framesSent: number;
  playbackTimedOut: boolean;
  toolMode: 'native' | 'prompt';
  toolList: ToolDefinition[];
  rounds: ToolRound[];
  /** What the model has written in the current call (tool rounds keep it). */
  roundText: string;
  pendingCalls: ToolCallRequest[];
  roundResults: ToolCallResult[];
  jsonScan: ToolJsonState;
  /** A synthesis failure was reported: one error frame per turn, however many sentences fail. */
  speechFailureReported: boolean;
  /** When the model's last chunk came (context.clock), for its idle bound. */
  lastOutputAt: number;
}

export type TurnEvent =
  | { type: 'llm.delta'; text: string }
  | { type: 'llm.done'; toolCalls?: ToolCallRequest[] }
  | { type: 'llm.error'; message: string; toolsUnsupported?: boolean; code?: ErrorCode }
  | ToolboxReply
  | PipelineOutputEvent
  | { type: 'playback.complete' }
  | { type: 'history.saved'; ok: boolean };

/** Sent to the session. */
export type TurnOutputEvent =
  /** `said`: for an audio frame, its sentence as the model wrote it (the frame shows it without emotion tags). */
  | { type: 'turn.frame'; frame: ServerFrame; said?: string }
  | { type: 'turn.user-message'; content: string }
  /** The model refused native tools: the session's later turns use prompt mode. */
  | { type: 'turn.tool-mode'; mode: 'prompt' }
  /** The reply is complete (with `record`): the parent records it and answers `history.saved`. */
  | { type: 'turn.finished'; output: TurnOutput };

export function llmRequest(context: TurnContext): LlmRequest {
  const userText = context.trigger.kind === 'proactive' ? context.trigger.prompt : context.userText;
  const base = { memory: context.memory, userText, images: context.trigger.images, rounds: context.rounds };
  if (context.toolList.length > 0 && context.toolMode === 'prompt' && context.tools) {
    return { ...base, system: promptModeSystem(context.system, context.tools.promptTemplate, context.toolList) };
  }
  return { ...base, system: context.system, tools: context.toolMode === 'native' ? context.toolList : [] };
}

/** A call as the toolbox runs it, or why it cannot run (bad argument JSON, unknown tool). */
export function resolveCall(
  call: ToolCallRequest,
  tools: readonly ToolDefinition[],
): { server: string; args: Record<string, unknown> } | { error: string } {
  const candidates = tools.filter((t) => t.name === call.name);
  const tool = candidates.find((t) => t.server === call.server) ?? candidates[candidates.length - 1];
  if (!tool) return { error: `Tool '${call.name}' is not available.` };
  let args: unknown;
  try {
    args = JSON.parse(call.arguments || '{}');
  } catch (err) {
    return { error: `the arguments for '${call.name}' are not valid JSON (${(err as Error).message})` };
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) return { error: `the arguments for '${call.name}' must be a JSON object` };
  return { server: tool.server, args: args as Record<string, unknown> };
}

const statusFrame = (context: TurnContext, call: ToolCallRequest, status: ToolCallStatusFrame['status'], content: string): ToolCallStatusFrame => ({
  type: 'tool_call_status',
  tool_id: call.id,
  tool_name: call.name,
  status,
  content,
  timestamp: new Date(context.clock.now()).toISOString(),
  name: context.speaker.name,
});

/** The user's message as memory stores it (images are not kept, only noted). */
export function userMemoryText(text: string, images: readonly ImageInput[]): string {
  return text.trim() || (images.length > 0 ? '[User provided image(s)]' : '');
}

const dispatchUnits = (context: TurnContext, units: TextUnit[]) =>
  units.map(
    (unit, i): SpeechJob => ({
      seq: context.seq + i,
      ...sentenceOutput(unit, context.emotionMap, context.preprocessor, context.showEmotionTags),
    }),
  );

/** Text → sentences → what to send the TTS pipeline, and the context after it. */
function feedPlan(context: TurnContext, text: string, final: boolean) {
  const options = { fasterFirstResponse: context.fasterFirstResponse };
  const pushed = pushText(context.splitter, text, options);
  const { state, units } = final ? flushTogether(pushed, options) : pushed;
  const total = context.seq + units.length;
  const events: Array<{ type: 'tts.sentence'; job: SpeechJob } | { type: 'tts.end'; total: number }> = dispatchUnits(context, units).map((job) => ({
    type: 'tts.sentence',
    job,
  }));
  if (final) events.push({ type: 'tts.end', total });
  return { events, update: { splitter: state, seq: total, reply: context.reply + text } };
}

export const turnMachine = setup({
  types: {
    context: {} as TurnContext,
    events: {} as TurnEvent,
    input: {} as TurnInput,
    output: {} as TurnOutput,
  },
  actors: {
    ttsPipeline: ttsPipelineMachine,
    /** Streams the model's reply as `llm.delta` … `llm.done` | `llm.error`; stopping it aborts the request. */
    llmStream: fromCallback<EventObject, LlmStreamInput, EventObject>(() => {
      throw new Error('actor "llmStream" must be provided with machine.provide()');
    }),
    /** The user's voice transcribed, bounded (its `transcribe` slot is provided from src/). */
    transcription: transcriptionMachine,
    /** Asks the toolbox for the tool list and passes the answer on. */
    toolList: fromCallback<EventObject, { toolbox: AnyActorRef }>(({ input, self, sendBack, receive }) => {
      input.toolbox.send({ type: 'tools.list', replyTo: self });
      receive((event) => sendBack(event));
    }),
    /** One tool call through the toolbox; stopped before the answer (interrupt), it cancels the call. */
    toolCall: fromCallback<EventObject, { toolbox: AnyActorRef; server: string; tool: string; args: Record<string, unknown> }>(
      ({ input, self, sendBack, receive }) => {
        const callId = self.sessionId;
        let answered = false;
        input.toolbox.send({ type: 'tool.call', callId, server: input.server, tool: input.tool, args: input.args, replyTo: self });
        receive((event) => {
          answered = true;
          sendBack(event);
        });
        return () => {
          if (!answered && input.toolbox.getSnapshot().status === 'active') input.toolbox.send({ type: 'tool.cancel', callId });
        };
      },
    ),
  },
  actions: {
    sendFrame: sendParent((_, frame: ServerFrame) => ({ type: 'turn.frame', frame }) satisfies TurnOutputEvent),
    sendPayload: sendParent((_, payload: { frame: ServerFrame; said: string }) => ({ type: 'turn.frame', ...payload }) satisfies TurnOutputEvent),
    /** Text → sentences → the TTS pipeline, keeping the splitter's state. */
    feedText: enqueueActions(({ context, enqueue }, params: { text: string; final: boolean }) => {
      const plan = feedPlan(context, params.text, params.final);
      for (const event of plan.events) enqueue.sendTo('tts', event);
      enqueue.assign(plan.update);
    }),
    /** A model delta: spoken at once, except (prompt mode) anything that may be a tool call's JSON. */
    takeDelta: enqueueActions(({ context, enqueue }, params: { text: string }) => {
      const prompt = context.toolMode === 'prompt' && context.toolList.length > 0;
      const step = prompt ? scanToolJson(context.jsonScan, params.text) : { state: context.jsonScan, speak: params.text, calls: [] };
      const plan = feedPlan(context, step.speak, false);
      for (const event of plan.events) enqueue.sendTo('tts', event);
      enqueue.assign({
        ...plan.update,
        roundText: context.roundText + params.text,
        jsonScan: step.state,
        lastOutputAt: context.clock.now(),
        ...(prompt ? { pendingCalls: step.calls } : {}),
      });
    }),
    /** A wait on the model ran out: one error naming the engine and the bound (then `finishText` ends the reply). */
    llmTimedOut: sendParent(({ context }, what: string) => ({
      type: 'turn.frame',
      frame: { type: 'error', code: 'llm_timeout', message: `Error processing agent response: ${engineName(context.engines.llm, 'the language model')} ${what}` },
    }) satisfies TurnOutputEvent),
    /** The model's answer is complete: held-back text is spoken, the splitter flushed, the pipeline told the total. */
    finishText: enqueueActions(({ context, enqueue }) => {
      const plan = feedPlan(context, flushToolJson(context.jsonScan).speak, true);
      for (const event of plan.events) enqueue.sendTo('tts', event);
      enqueue.assign({ ...plan.update, jsonScan: initialToolJson() });
    }),
    /** Sentences written before the tool calls are spoken now, not after the tools ran. */
    flushSentences: enqueueActions(({ context, enqueue }) => {
      const options = { fasterFirstResponse: context.fasterFirstResponse };
      const { state, units } = flushText(context.splitter, options);
      for (const job of dispatchUnits(context, units)) enqueue.sendTo('tts', { type: 'tts.sentence', job });
      enqueue.assign({ splitter: state, seq: context.seq + units.length });
    }),
    /** A frame that belongs between two sentences goes through the pipeline, to keep its place. */
    orderedFrame: enqueueActions(({ context, enqueue }, frame: ServerFrame) => {
      enqueue.sendTo('tts', { type: 'tts.frame', seq: context.seq, frame });
      enqueue.assign({ seq: context.seq + 1 });
    }),
    recordUserMessage: enqueueActions(({ context, enqueue }) => {
      // The user's words enter memory before the model is asked (UPSTREAM-BEHAVIOR §2.3); a proactive prompt never does.
      if (context.trigger.kind !== 'proactive') {
        enqueue.sendParent({ type: 'turn.user-message', content: userMemoryText(context.userText, context.trigger.images) } satisfies TurnOutputEvent);
      }
    }),
    /** The current call failed or cannot run: its error status, and the error as its result for the model. */
    failCall: enqueueActions(({ context, enqueue }, content: string) => {
      const call = context.pendingCalls[context.roundResults.length]!;
      enqueue.sendTo('tts', { type: 'tts.frame', seq: context.seq, frame: statusFrame(context, call, 'error', content) });
      enqueue.assign({ seq: context.seq + 1, roundResults: [...context.roundResults, { id: call.id, content, isError: true }] });
    }),
    closeRound: assign(({ context }) => ({
      rounds: [...context.rounds, { mode: context.toolMode, text: context.roundText, calls: context.pendingCalls, results: context.roundResults }],
      roundText: '',
      pendingCalls: [],
      roundResults: [],
      jsonScan: initialToolJson(),
    })),
  },
  delays: {
    /** The model's first output of a call (each call of a tool round has its own). */
    llmFirstOutput: ({ context }) => context.deadlines.llmFirstOutputMs,
    /** The model's silence between two chunks once it has started: what is left of it since the last chunk. */
    llmIdle: ({ context }) => Math.min(context.deadlines.llmIdleMs, Math.max(0, context.deadlines.llmIdleMs - (context.clock.now() - context.lastOutputAt))),
    /** The bound on the wait for the client's playback (D2): the audio sent plus a slack. */
    playbackDeadline: ({ context }) => Math.round(context.audioMs + context.playbackSlackMs),
    /**
     * A toolbox that never answers (it was stopped: the speaker of a group turn switched character) must not hold
     * the turn: the toolbox's own bounds come first, this one only after them.
     */
    toolboxSilence: ({ context }) => (context.tools?.answerBoundMs ?? 0) * 2 + 2000,
    /** A disk that does not answer must not hold the chain open: the reply is still written when it can be. */
    recordDeadline: ({ context }) => context.record?.deadlineMs ?? 0,
  },
  guards: {
    isVoice: ({ context }) => context.trigger.kind === 'audio',
    recordsReply: ({ context }) => context.record !== undefined,
    anythingSent: ({ context }) => context.framesSent > 0,
    nothingToAnswer: ({ context }) => context.trigger.kind !== 'proactive' && userMemoryText(context.userText, context.trigger.images) === '',
    hasToolbox: ({ context }) => context.tools !== undefined,
    /** The model's answer asked for tools: native calls at its end, or prompt-mode JSON that just completed. */
    callsTools: ({ context }) => context.toolList.length > 0 && context.pendingCalls.length > 0,
    nativeCalls: ({ context, event }) =>
      event.type === 'llm.done' && context.toolMode === 'native' && context.toolList.length > 0 && (event.toolCalls?.length ?? 0) > 0,
    refusedTools: ({ context, event }) => event.type === 'llm.error' && event.toolsUnsupported === true && context.toolMode === 'native',
    /** The model sent a chunk less than its idle bound ago (the clock may have been set back: then it did). */
    spokeWithinIdleBound: ({ context }) => context.clock.now() - context.lastOutputAt < context.deadlines.llmIdleMs,
    overStepCap: ({ context }) => context.rounds.length >= (context.tools?.maxSteps ?? 0),
    allCalled: ({ context }) => context.roundResults.length >= context.pendingCalls.length,
    callCannotRun: ({ context }) => 'error' in resolveCall(context.pendingCalls[context.roundResults.length]!, context.toolList),
  },
}).createMachine({
  id: 'turn',
  context: ({ input }) => ({
    ...input,
    deadlines: input.deadlines ?? DEFAULT_ENGINE_DEADLINES,
    userText: input.trigger.kind === 'text' ? input.trigger.text : '',
    splitter: initialSplitter(),
    reply: '',
    seq: 0,
    spoken: [],
    audioMs: 0,
    framesSent: 0,
    playbackTimedOut: false,
    toolMode: input.tools?.mode ?? 'native',
    toolList: [],
    rounds: [],
    roundText: '',
    pendingCalls: [],
    roundResults: [],
    jsonScan: initialToolJson(),
    speechFailureReported: false,
    lastOutputAt: 0,
  }),
  invoke: {
    id: 'tts',
    src: 'ttsPipeline',
    input: ({ context }) => ({
      concurrency: context.ttsConcurrency,
      speaker: context.speaker,
      engine: context.engines.tts,
      synthesisDeadlineMs: context.deadlines.synthesisMs,
    }),
  },
  on: {
    // Payloads arrive from the pipeline already in sentence order.
    'tts.payload': {
      actions: [
        enqueueActions(({ context, event, enqueue }) => {
          if (!event.error || context.speechFailureReported) return;
          enqueue({ type: 'sendFrame', params: { type: 'error', code: 'tts', message: `Speech synthesis failed: ${event.error}` } });
          enqueue.assign({ speechFailureReported: true });
        }),
        assign({
          framesSent: ({ context }) => context.framesSent + 1,
          audioMs: ({ context, event }) => context.audioMs + event.durationMs,
          spoken: ({ context, event }) => [...context.spoken, event.said],
        }),
        { type: 'sendPayload', params: ({ event }) => ({ frame: event.frame, said: event.said }) },
      ],
    },
    'tts.passthrough': { actions: { type: 'sendFrame', params: ({ event }) => event.frame } },
  },
  initial: 'starting',
  states: {
    starting: {
      entry: [
        { type: 'sendFrame', params: { type: 'control', text: 'conversation-chain-start' } },
        { type: 'sendFrame', params: { type: 'full-text', text: 'Thinking...' } },
      ],
      always: [
        { guard: 'isVoice', target: 'transcribing' },
        { guard: 'nothingToAnswer', target: 'finishing' },
        { guard: 'hasToolbox', target: 'listingTools', actions: 'recordUserMessage' },
        { target: 'thinking', actions: 'recordUserMessage' },
      ],
    },
    transcribing: {
      // The recognizer runs, bounded, in its own actor (transcription.machine.ts); leaving this state stops it.
      invoke: {
        src: 'transcription',
        input: ({ context }) => ({
          engine: context.engines.asr,
          unavailable: context.asrUnavailable,
          samples: context.trigger.kind === 'audio' ? context.trigger.samples : new Float32Array(),
          clientUid: context.clientUid,
          deadlineMs: context.deadlines.transcriptionMs,
        }),
        onDone: [
          // It failed or overran its bound: one error, and the turn ends without asking the model.
          { guard: ({ event }) => event.output.error !== null, target: 'finishing', actions: { type: 'sendFrame', params: ({ event }) => event.output.error! } },
          {
            // Nothing was understood: say so in the transcript and end the turn without asking the model.
            guard: ({ context, event }) => userMemoryText(event.output.text, context.trigger.images) === '',
            target: 'finishing',
            actions: { type: 'sendFrame', params: ({ event }) => ({ type: 'user-input-transcription', text: event.output.text }) },
          },
          {
            target: 'listingOrThinking',
            actions: [
              assign({ userText: ({ event }) => event.output.text }),
              { type: 'sendFrame', params: ({ event }) => ({ type: 'user-input-transcription', text: event.output.text }) },
              'recordUserMessage',
            ],
          },
        ],
      },
    },
    listingOrThinking: {
      always: [{ guard: 'hasToolbox', target: 'listingTools' }, { target: 'thinking' }],
    },
    listingTools: {
      invoke: { src: 'toolList', input: ({ context }) => ({ toolbox: context.tools!.toolbox }) },
      after: { toolboxSilence: { target: 'thinking', actions: { type: 'sendFrame', params: { type: 'error', code: 'mcp', message: 'MCP: the tools did not answer; replying without them' } } } },
      on: {
        'tools.listed': {
          target: 'thinking',
          actions: [
            assign({ toolList: ({ event }) => event.tools }),
            enqueueActions(({ event, enqueue }) => {
              for (const problem of event.problems) enqueue({ type: 'sendFrame', params: { type: 'error', code: 'mcp', message: `MCP: ${problem}` } });
            }),
          ],
        },
      },
    },
    thinking: {
      always: { guard: 'callsTools', target: 'usingTools' },
      invoke: {
        id: 'llm',
        src: 'llmStream',
        input: ({ context }) => ({ engine: context.engines.llm, request: llmRequest(context), clientUid: context.clientUid }),
      },
      // Each wait on the model is bounded: its first output, then the silence between two chunks. On expiry the
      // request is aborted (leaving the state stops it) and the turn ends with what was said.
      initial: 'awaitingFirstOutput',
      states: {
        awaitingFirstOutput: {
          on: { 'llm.delta': { target: 'streaming', actions: { type: 'takeDelta', params: ({ event }) => ({ text: event.text }) } } },
          after: {
            llmFirstOutput: {
              target: '#turn.speaking',
              actions: [{ type: 'llmTimedOut', params: ({ context }) => `sent nothing within ${formatBound(context.deadlines.llmFirstOutputMs)}` }, 'finishText'],
            },
          },
        },
        streaming: {
          // Prompt mode: once the JSON of a tool call is complete (pendingCalls), the rest of the answer is not wanted.
          on: { 'llm.delta': { actions: { type: 'takeDelta', params: ({ event }) => ({ text: event.text }) } } },
          // The silence bound counts from the last chunk. A chunk only notes its time (re-arming a timer for each
          // of them was a third of a chunk's cost, on the path to the first audio): when the timer fires, a stream
          // that spoke since is given the rest of its bound, counted from its last chunk.
          after: {
            llmIdle: [
              { guard: 'spokeWithinIdleBound', target: 'streaming', reenter: true },
              {
                target: '#turn.speaking',
                actions: [{ type: 'llmTimedOut', params: ({ context }) => `stopped sending for ${formatBound(context.deadlines.llmIdleMs)}; the reply ends here` }, 'finishText'],
              },
            ],
          },
        },
      },
      on: {
        'llm.done': [
          { guard: 'nativeCalls', actions: assign({ pendingCalls: ({ event }) => event.toolCalls ?? [] }) },
          { target: 'speaking', actions: 'finishText' },
        ],
        'llm.error': [
          {
            // Ollama and friends refuse `tools` for some models: ask again with the tools in the prompt (upstream §8 #6).
            guard: 'refusedTools',
            target: 'thinking',
            reenter: true,
            actions: [
              assign({ toolMode: 'prompt', roundText: '', jsonScan: initialToolJson() }),
              sendParent({ type: 'turn.tool-mode', mode: 'prompt' } satisfies TurnOutputEvent),
            ],
          },
          {
            target: 'speaking',
            actions: [
              { type: 'sendFrame', params: ({ event }) => ({ type: 'error', code: event.code ?? 'llm', message: `Error processing agent response: ${event.message}` }) },
              'finishText',
            ],
          },
        ],
      },
    },
    usingTools: {
      entry: 'flushSentences',
      initial: 'checking',
      states: {
        checking: {
          always: [
            {
              // The step cap: calls beyond it are not run, and the turn ends with what was said.
              guard: 'overStepCap',
              target: '#turn.speaking',
              actions: [
                enqueueActions(({ context, enqueue }) => {
                  const message = `Error: not run: the model asked for tools more than ${context.tools?.maxSteps ?? 0} times in one reply`;
                  let seq = context.seq;
                  for (const call of context.pendingCalls) enqueue.sendTo('tts', { type: 'tts.frame', seq: seq++, frame: statusFrame(context, call, 'error', message) });
                  enqueue.assign({ seq });
                }),
                'finishText',
              ],
            },
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
              actions: {
                type: 'failCall',
                params: ({ context }) => `Error: ${(resolveCall(context.pendingCalls[context.roundResults.length]!, context.toolList) as { error: string }).error}`,
              },
            },
            { target: 'calling' },
          ],
        },
        calling: {
          entry: enqueueActions(({ context, enqueue }) => {
            const call = context.pendingCalls[context.roundResults.length]!;
            const resolved = resolveCall(call, context.toolList) as { args: Record<string, unknown> };
            enqueue({ type: 'orderedFrame', params: statusFrame(context, call, 'running', `Input: ${JSON.stringify(resolved.args)}`) });
          }),
          invoke: {
            src: 'toolCall',
            input: ({ context }) => {
              const call = context.pendingCalls[context.roundResults.length]!;
              const resolved = resolveCall(call, context.toolList) as { server: string; args: Record<string, unknown> };
              return { toolbox: context.tools!.toolbox, server: resolved.server, tool: call.name, args: resolved.args };
            },
          },
          after: {
            toolboxSilence: { target: 'next', actions: { type: 'failCall', params: 'Error: the tool server did not answer' } },
          },
          on: {
            'tool.result': {
              target: 'next',
              actions: enqueueActions(({ context, event, enqueue }) => {
                const call = context.pendingCalls[context.roundResults.length]!;
                enqueue({ type: 'orderedFrame', params: statusFrame(context, call, event.isError ? 'error' : 'completed', event.content) });
                enqueue.assign({ roundResults: [...context.roundResults, { id: call.id, content: event.content, isError: event.isError }] });
              }),
            },
          },
        },
      },
    },
    speaking: {
      on: {
        'tts.drained': [{ guard: 'anythingSent', target: 'awaitingPlayback' }, { target: 'finishing' }],
      },
    },
    awaitingPlayback: {
      // Sent once, after the last audio frame (D8); only a playback-complete from now on counts (D9).
      entry: { type: 'sendFrame', params: { type: 'backend-synth-complete' } },
      on: { 'playback.complete': 'finishing' },
      after: { playbackDeadline: { target: 'finishing', actions: assign({ playbackTimedOut: true }) } },
    },
    finishing: {
      entry: { type: 'sendFrame', params: { type: 'force-new-message' } },
      always: [{ guard: 'recordsReply', target: 'recording' }, { target: 'ending' }],
    },
    /** The chain ends once the reply is on disk: a client told the turn ended never loses it to a crash. */
    recording: {
      entry: sendParent(({ context }) => ({ type: 'turn.finished', output: turnOutput(context) }) satisfies TurnOutputEvent),
      on: { 'history.saved': 'ending' },
      after: { recordDeadline: 'ending' },
    },
    ending: {
      entry: { type: 'sendFrame', params: { type: 'control', text: 'conversation-chain-end' } },
      always: 'done',
    },
    done: { type: 'final' },
  },
  output: ({ context }) => turnOutput(context),
});

function turnOutput(context: TurnContext): TurnOutput {
  return {
    userText: context.trigger.kind === 'proactive' ? '' : context.userText,
    reply: context.reply,
    spoken: context.spoken,
    playbackTimedOut: context.playbackTimedOut,
  };
}

function flushTogether(
  pushed: { state: SplitterState; units: TextUnit[] },
  options: { fasterFirstResponse: boolean },
): { state: SplitterState; units: TextUnit[] } {
  const flushed = flushText(pushed.state, options);
  return { state: flushed.state, units: [...pushed.units, ...flushed.units] };
}
