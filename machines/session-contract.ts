import type { AnyActorRef } from 'xstate';
import type { ChatMessage, SentText } from '../src/agent/chat-memory.js';
import type { SessionCharacter } from './session-character.js';
import type { ClientFrame, ClientFrameType } from '../src/protocol/client-frames.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { SessionSocket } from './socket-contract.js';
import type { Clock } from './clock.js';
import type { EngineDeadlines } from './engine-deadlines.js';
import type { GroupRules, Membership, SessionGroupEvent } from './group-protocol.js';
import type { HistoryLine } from './history-lines.js';
import type { RequestQueueOutputEvent } from './request-queue.machine.js';
import type { TurnOutputEvent, TurnTrigger } from './turn.machine.js';
import type { VoiceDetectionOutputEvent } from './voice-detection-contract.js';

/**
 * The session machine's contracts: its input, context and events, and the commands its slots (socket bridge,
 * history writer) take. The machine itself is assembled in session.machine.ts from one file per concern.
 */

/** A validated inbound frame, as the event `client.<frame type>`. */
export type ClientEvent = {
  [K in ClientFrameType]: { type: `client.${K}`; frame: Extract<ClientFrame, { type: K }> };
}[ClientFrameType];

export type SessionEvent =
  | ClientEvent
  | TurnOutputEvent
  | { type: 'client.invalid'; message: string }
  | { type: 'socket.closed'; code: number; reason: string }
  | { type: 'server.shutdown' }
  | { type: 'history.failed'; message: string }
  | HistorySaved
  | SessionGroupEvent
  | RequestQueueOutputEvent
  | VoiceDetectionOutputEvent;

/** Appends to a history file (the `history` child). */
export interface HistoryCommand {
  type: 'history.append';
  confUid: string;
  historyUid: string;
  /** Stamped with the local time by the writer. */
  messages: HistoryLine[];
  /** Answer `history.saved` once the messages are on disk (or could not be written): the turn waits for it. */
  confirm?: boolean;
  /** A group conversation waits for it instead (the session relays `group.recorded` to it). */
  confirmTo?: AnyActorRef;
}

/** The history writer's answer to a command with `confirm`. */
export type HistorySaved = { type: 'history.saved'; ok: boolean; confirmTo?: AnyActorRef };

/** Events the session sends to its socket bridge. */
export type SocketCommand = { type: 'socket.send'; frame: ServerFrame } | { type: 'socket.resume' };

export interface SessionInput {
  clientUid: string;
  socket: SessionSocket;
}

/** Per-session bounds, from system_config. */
export interface SessionLimits {
  ttsConcurrency: number;
  playbackSlackMs: number;
  /** Samples of 16 kHz mic audio buffered for one utterance at most. */
  micMaxSamples: number;
  /** How a group this session creates is run (who invites, its size, its conversations' rounds). */
  group: GroupRules;
  /** The longest a group conversation waits for a member's session to take its turn (it skips the member then). */
  groupMemberAnswerMs: number;
  /** Rounds of tool calls in one reply. */
  mcpMaxSteps: number;
  /** Bound on starting an MCP server (process, handshake, tool list). */
  mcpStartTimeoutMs: number;
  /** Bound on one MCP tool call. */
  mcpCallTimeoutMs: number;
  /** Requests waiting for their answer at most (a client that floods requests gets errors beyond it). */
  maxPendingRequests: number;
  /** The longest a turn's chain-end waits for its reply to be on disk. */
  historyWriteDeadlineMs: number;
  /** Bounds on each engine wait of a turn (default: DEFAULT_ENGINE_DEADLINES). */
  deadlines?: EngineDeadlines;
  /** Long-term memory is on (system_config.memory): each turn recalls this much within this bound. */
  recall?: { topK: number; maxCharacters: number; deadlineMs: number };
}

export interface SessionSetup {
  character: SessionCharacter;
  limits: SessionLimits;
  /** What the turns stamp their frames with (a machine reads no clock of its own). */
  clock: Clock;
}

export interface SessionContext {
  clientUid: string;
  socket: SessionSocket;
  /** The active character and its engines; null only while initializing. */
  character: SessionCharacter | null;
  limits: SessionLimits;
  /** From initSession; null only while initializing. */
  clock: Clock | null;
  /** This session's agent memory (never shared between sessions). */
  memory: ChatMessage[];
  /** Mic audio of the utterance in progress (`mic-audio-data` chunks). */
  mic: { chunks: number[][]; samples: number };
  /** The input of the turn about to start (or running). */
  trigger: TurnTrigger | null;
  /** The history file turns are written to (`chat_history/<conf_uid>/<historyUid>.json`); null: not recorded. */
  historyUid: string | null;
  /**
   * The audio frames' texts the running turn has sent, shown and as said (to check an interrupt's heard text,
   * docs/upstream-defects.md, U13).
   */
  turnSpoken: SentText[];
  turns: number;
  /** The file of the switch in progress. */
  pendingFile: string | null;
  switches: number;
  /** How the model gets its tools: natively, or in the prompt once it refused them (reset by a switch). */
  toolMode: 'native' | 'prompt';
  /** The chat group this client is in, as its group actor last said; null: none. */
  group: Membership | null;
  /** A group is being created for this client (its first invite is on the way). */
  groupPending: boolean;
  /** An utterance found by voice detection started its turn; the client's `mic-audio-end` answering it is still to come. */
  voiceEndOwed: boolean;
}

/** Sent to the server: create a group owned by this client, with its first invite. */
export interface GroupCreateRequest {
  type: 'group.create';
  owner: { uid: string; ref: AnyActorRef };
  inviteeUid: string;
  rules: GroupRules;
}

export interface SocketBridgeInput {
  socket: SessionSocket;
  clientUid: string;
}
