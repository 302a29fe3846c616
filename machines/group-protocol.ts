import type { AnyActorRef, EventObject } from 'xstate';
import type { ChatMessage } from '../src/agent/chat-memory.js';
import type { HistoryLine } from './history-lines.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { TurnInput, TurnOutputEvent, TurnTrigger } from './turn-contract.js';
import type { EngineDeadlines } from './engine-deadlines.js';
import type { AsrEngine } from './engine-contracts.js';

/**
 * The events between sessions, their group and the group's conversation. A group knows its members by uid and
 * actor ref; a session knows its group by id and ref. Nothing else keeps membership (upstream's two dictionaries).
 */

export interface GroupMember {
  uid: string;
  ref: AnyActorRef;
  /** The member's character name, when its session is on another instance (else read from the session). */
  name?: string;
}

/** A member connected to another instance (src/cluster/remote-member.ts), as its group's child `remote.<uid>`. */
export interface RemoteMemberInput {
  groupId: string;
  uid: string;
  /** The instance its session is connected to. */
  instance: string;
  inviterUid: string;
}

/** What a session knows of its group. */
export interface Membership {
  id: string;
  ref: AnyActorRef;
  /** Member uids in join order (the owner first). */
  members: string[];
  ownerUid: string;
}

/**
 * How groups are run (system_config): who may invite (`any` member, as upstream, or the `owner` only), how many
 * members a group holds at most, and how many rounds a conversation has (0: until someone interrupts, as upstream).
 */
export interface GroupRules {
  invite: 'any' | 'owner';
  maxMembers: number;
  rounds: number;
}

/** Input that starts (or queues) a group conversation, with what the initiator needs to transcribe it. */
export interface GroupTrigger {
  trigger: TurnTrigger;
  humanName: string;
  asr?: AsrEngine;
  asrUnavailable?: string;
  /** The initiator's engine bounds (its transcription is bounded by them). */
  deadlines?: EngineDeadlines;
  /** How long the conversation waits for each member's session to answer its turn request (system_config). */
  memberAnswerMs: number;
}

/** Session → group. */
export type GroupEvent =
  | { type: 'group.invite'; from: string; inviteeUid: string }
  | { type: 'group.remove'; by: string; targetUid: string }
  | { type: 'group.member-gone'; uid: string }
  | { type: 'group.offer-accepted'; uid: string; ref: AnyActorRef; name?: string }
  | { type: 'group.offer-declined'; uid: string; reason: string }
  | { type: 'group.input'; uid: string; input: GroupTrigger }
  | { type: 'group.interrupt'; uid: string; heard: string }
  | { type: 'group.playback-complete'; uid: string }
  | { type: 'group.audio-play-start'; uid: string; displayText: { text: string; name: string; avatar: string } | null };

/** What a group turn asks of the speaker's session. */
export interface GroupTurnRequest {
  type: 'group.turn-request';
  replyTo: AnyActorRef;
  /** The transcript lines the speaker has not seen yet ("Name: text"). */
  text: string;
  proactive: boolean;
  images: TurnTrigger['images'];
  humanName: string;
  otherAis: string[];
}

/** Group or group conversation → session. */
export type SessionGroupEvent =
  | { type: 'group.offer'; groupId: string; ref: AnyActorRef; inviterUid: string }
  | { type: 'group.changed'; membership: Membership | null; frames: ServerFrame[] }
  | { type: 'group.deliver'; frames: ServerFrame[] }
  | GroupTurnRequest
  /** Memory of the speaker's own agent (its user line and its reply). */
  | { type: 'group.remember'; messages: ChatMessage[] }
  /**
   * The speaker was interrupted: its agent keeps what was heard (only the speaker's: docs/upstream-defects.md, U33).
   */
  | { type: 'group.remember-interrupt'; heard: string }
  /**
   * History lines for every member's current history file. With `confirmTo`, each member answers `group.recorded` once
   * they are on disk (or it has no history): the turn's chain ends after that (docs/decisions.md, 8).
   */
  | { type: 'group.record'; messages: HistoryLine[]; confirmTo?: AnyActorRef };

/** Session → group conversation: a member's history has the lines of a `group.record` with `confirmTo`. */
export type GroupRecorded = { type: 'group.recorded'; uid: string };

/** Session → group conversation. */
export type GroupTurnReply = { type: 'group.turn-input'; input: TurnInput } | { type: 'group.turn-unavailable'; reason: string };

/** Group conversation → group: deliver to current members (resolved when it is delivered, never a stale set). */
export interface ConversationTell {
  type: 'conv.tell';
  /** `all` members, or one uid. */
  to: 'all' | string;
  except?: string;
  event: SessionGroupEvent;
}

/** What starts a group conversation (group-conversation.machine.ts), from its group. */
export interface ConversationInput {
  groupId: string;
  initiatorUid: string;
  /** Speaking order: the members when it started, the initiator first. */
  order: GroupMember[];
  /** Character names by uid, for the group prompt's `{other_ais}`. */
  names: Record<string, string>;
  input: GroupTrigger;
  rounds: number;
}

/**
 * A member on another instance speaks: its turn runs there (machines/group-link.machine.ts) and its events come
 * through its remote member; `conv.to-turn` and `conv.turn-stop` go back the same way.
 */
export type RemoteTurnEvent =
  | { type: 'group.turn-remote'; uid: string; speaker: { name: string; avatar: string } }
  | { type: 'turn.remote-ended'; uid: string; error: string | null };
export type ToRemoteTurn = { type: 'conv.to-turn'; event: EventObject } | { type: 'conv.turn-stop' };

/** What a group conversation hears: from its group, the speaker's session, and its member turn. */
export type ConversationEvent =
  | RemoteTurnEvent
  | { type: 'group.interrupt'; uid: string; heard: string }
  | { type: 'conv.playback-complete'; uid: string }
  | { type: 'conv.member-left'; uid: string }
  | { type: 'conv.wind-up' }
  | GroupTurnReply
  | GroupRecorded
  | TurnOutputEvent;
