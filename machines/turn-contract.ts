import type { AnyActorRef } from 'xstate';
import type { ChatMessage } from '../src/agent/chat-memory.js';
import type { SplitterState } from '../src/agent/sentence-splitter.js';
import type { ToolJsonState } from '../src/agent/tool-call-json.js';
import type { CharacterConfig } from '../src/config/conf-schema.js';
import type { ImageInput, ToolCallRequest, ToolCallResult, ToolDefinition, ToolRound } from '../src/engines/llm/llm-request.js';
import type { ErrorCode } from '../src/protocol/error-codes.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { Clock } from './clock.js';
import type { AsrEngine, LlmEngine, TtsEngine } from './engine-contracts.js';
import type { EngineDeadlines } from './engine-deadlines.js';
import type { ToolboxReply } from './toolbox.machine.js';
import type { PipelineOutputEvent } from './tts-pipeline.machine.js';

/**
 * The turn's contract (turn.machine.ts): what a parent gives it, the events it takes, what it sends back and what it
 * outputs. The parent is the session (its own turns) or a group conversation (a member's turn).
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

/** Long-term memory: what the turn recalls from the character's other conversations before it asks the model. */
export interface TurnRecall {
  confUid: string;
  /** The conversation the turn is in: its own lines are in memory already, so they are not recalled. */
  historyUid: string | null;
  topK: number;
  maxCharacters: number;
  /** Past this the turn asks the model without memories. */
  deadlineMs: number;
  /** How the recalled lines name who said them when the file does not. */
  names: { human: string; ai: string };
}

/** What the `recallMemories` actor is asked: the recall settings and the user's words. */
export interface RecallRequest extends TurnRecall {
  clientUid: string;
  query: string;
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
  /** Long-term memory is on: memories are recalled before the model is asked. */
  recall?: TurnRecall;
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

/** The turn's state between events: its input, the reply so far, and the tool loop's round. */
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
  /** The memories recalled for this turn, as the system text that carries them ('' for none). */
  recalled: string;
}

export type TurnEvent =
  | { type: 'llm.delta'; text: string }
  | { type: 'llm.done'; toolCalls?: ToolCallRequest[] }
  | { type: 'llm.error'; message: string; toolsUnsupported?: boolean; code?: ErrorCode }
  | ToolboxReply
  | PipelineOutputEvent
  | { type: 'playback.complete' }
  | { type: 'history.saved'; ok: boolean };

/** Sent to the parent. */
export type TurnOutputEvent =
  /** `said`: for an audio frame, its sentence as the model wrote it (the frame shows it without emotion tags). */
  | { type: 'turn.frame'; frame: ServerFrame; said?: string }
  | { type: 'turn.user-message'; content: string }
  /** The model refused native tools: the session's later turns use prompt mode. */
  | { type: 'turn.tool-mode'; mode: 'prompt' }
  /** The reply is complete (with `record`): the parent records it and answers `history.saved`. */
  | { type: 'turn.finished'; output: TurnOutput };
