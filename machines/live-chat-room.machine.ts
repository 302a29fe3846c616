import { assign, fromCallback, sendParent, setup, type EventObject } from 'xstate';
import type { LiveRoomEvent, LiveRoomInput, RoomDanmakuEvent, RoomSocketInput } from './live-chat-contract.js';

/**
 * One live room's chat connection, a child of the live chat (live-chat.machine.ts) for as long as the server serves.
 *
 *   connected (connecting → live) ⇄ retrying
 *
 * The `socket` child is the connection; it lives while `connected`. The chat server must accept the room within
 * `connectBound` and, once live, say something (a heartbeat answer, a message) at least every `silenceBound`;
 * otherwise, or when the connection ends, the socket is dropped and a new one is opened after `reconnectBackoff`,
 * which grows with each attempt in a row and starts again from the first once a connection is accepted. Every chat
 * message goes to the parent as `room.danmaku`.
 */

export interface LiveRoomContext {
  roomId: number;
  /** Failed connections in a row (0 once one is accepted): the backoff's step. */
  attempt: number;
  /** Why the last connection ended, for the log. */
  problem: string;
}

export const liveChatRoomMachine = setup({
  types: {
    context: {} as LiveRoomContext,
    events: {} as LiveRoomEvent,
    input: {} as LiveRoomInput,
  },
  actors: {
    roomSocket: fromCallback<EventObject, RoomSocketInput>(() => {
      throw new Error('actor "roomSocket" must be provided with machine.provide()');
    }),
  },
  delays: {
    /** The longest the chat server may take to accept the room. */
    connectBound: 10_000,
    /** The longest a live connection may stay silent (the server answers a heartbeat every 30 s). */
    silenceBound: 70_000,
    /** The wait before the next attempt; provided by src, which owns the backoff rule. */
    reconnectBackoff: () => {
      throw new Error('delay "reconnectBackoff" must be provided with machine.provide()');
    },
  },
  actions: {
    passDanmaku: sendParent(({ context, event }): RoomDanmakuEvent => {
      const { text, user } = event as Extract<LiveRoomEvent, { type: 'socket.danmaku' }>;
      return { type: 'room.danmaku', roomId: context.roomId, text, user };
    }),
    accepted: assign({ attempt: 0, problem: '' }),
    closed: assign({
      problem: ({ event }) => {
        if (event.type === 'socket.closed') return event.reason;
        const error = (event as { error?: unknown }).error;
        return error instanceof Error ? error.message : 'the connection failed';
      },
    }),
    noAnswer: assign({ problem: 'the chat server did not accept the room in time' }),
    silent: assign({ problem: 'the chat server went silent' }),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    /** Told when a connection is accepted (src logs it). */
    reportLive: () => undefined,
    /** Told on entering `retrying`, with `problem` and `attempt` (src logs it with the wait). */
    reportRetry: () => undefined,
  },
}).createMachine({
  id: 'liveChatRoom',
  context: ({ input }) => ({ roomId: input.roomId, attempt: 0, problem: '' }),
  initial: 'connected',
  states: {
    connected: {
      invoke: {
        id: 'socket',
        src: 'roomSocket',
        input: ({ context }) => ({ roomId: context.roomId }),
        onError: { target: 'retrying', actions: 'closed' },
      },
      on: { 'socket.closed': { target: 'retrying', actions: 'closed' } },
      initial: 'connecting',
      states: {
        connecting: {
          after: { connectBound: { target: '#liveChatRoom.retrying', actions: 'noAnswer' } },
          on: { 'socket.live': { target: 'live', actions: ['accepted', 'reportLive'] } },
        },
        live: {
          // Anything the server says shows the connection is alive: the silence bound starts again.
          after: { silenceBound: { target: '#liveChatRoom.retrying', actions: 'silent' } },
          on: {
            'socket.heartbeat': { target: 'live', reenter: true },
            'socket.danmaku': { target: 'live', reenter: true, actions: 'passDanmaku' },
          },
        },
      },
    },
    retrying: {
      entry: 'reportRetry',
      after: { reconnectBackoff: { target: 'connected', actions: 'nextAttempt' } },
    },
  },
});
