/**
 * Live-stream chat's contract (live-chat.machine.ts, live-chat-room.machine.ts): what a room's socket reports, what
 * the chat tells the `/proxy-ws` hub and what the hub answers.
 */

/** The live chat, a child of the server while it serves (found by the hub under this name). */
export const LIVE_CHAT_SYSTEM_ID = 'liveChat';
/** The `/proxy-ws` hub, found by the live chat under this name. */
export const PROXY_HUB_SYSTEM_ID = 'proxyHub';

export interface LiveChatInput {
  /** One connection per room (bilibili room ids). */
  rooms: readonly number[];
  /** Chat messages kept waiting at most; beyond it the oldest is dropped. */
  queueMax: number;
}

export interface LiveRoomInput {
  roomId: number;
}

/** The `roomSocket` slot: one connection to a room's chat (src/live/bilibili-room-actor.ts). */
export type RoomSocketInput = LiveRoomInput;

/** What a room's socket reports to its room machine. */
export type RoomSocketEvent =
  /** The chat server accepted the room's authentication: messages flow. */
  | { type: 'socket.live' }
  /** The chat server answered a heartbeat (with the room's popularity count). */
  | { type: 'socket.heartbeat'; online: number }
  | { type: 'socket.danmaku'; text: string; user: string }
  /** The connection ended (closed by the server, refused, failed, or a packet that could not be read). */
  | { type: 'socket.closed'; reason: string };

/** A room's machine to the live chat: one chat message said in that room. */
export type RoomDanmakuEvent = { type: 'room.danmaku'; roomId: number; text: string; user: string };

/**
 * How the hub dealt with a chat message: `released` to the shared session (a reply starts), `unheard` (nobody watches
 * /proxy-ws, so nobody would hear the reply), `elsewhere` (another instance runs the shared session, and its own live
 * chat, in the same rooms, feeds it: docs/cluster.md).
 */
export type LiveAckOutcome = 'released' | 'unheard' | 'elsewhere';

/** The live chat to the hub. */
export type LiveInputEvent = { type: 'live.input'; text: string };
/** The hub to the live chat, once for every `live.input`. */
export type LiveAckEvent = { type: 'live.ack'; outcome: LiveAckOutcome };

export type LiveRoomEvent = RoomSocketEvent | { type: 'xstate.error.actor.socket'; error: unknown };

export type LiveChatEvent = RoomDanmakuEvent | LiveAckEvent;

/** What the live chat counts (shown on /sessions with its snapshot). */
export interface LiveChatCounts {
  received: number;
  released: number;
  /** Dropped because the queue was full (the oldest goes). */
  dropped: number;
  /** Dropped because nobody watched /proxy-ws. */
  unheard: number;
  /** Left to the instance that runs the shared session (more than one instance). */
  elsewhere: number;
}
