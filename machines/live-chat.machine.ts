import { enqueueActions, setup } from 'xstate';
import {
  PROXY_HUB_SYSTEM_ID,
  type LiveChatCounts,
  type LiveChatEvent,
  type LiveChatInput,
  type LiveInputEvent,
} from './live-chat-contract.js';
import { liveChatRoomMachine } from './live-chat-room.machine.js';

/**
 * Live-stream chat (`live_config.bilibili_live.room_ids`): every chat message said in the rooms becomes chat input of
 * the `/proxy-ws` session, so the character answers on stream. A child of the server while it serves, with one
 * `room.<id>` child per room (live-chat-room.machine.ts) that owns the connection.
 *
 *   open → handingOver → spacing → open
 *
 * Messages wait in a queue of at most `queueMax` (beyond it the oldest is dropped: a live chat wants the newest
 * answered). One at a time goes to the hub (`live.input`), which answers `live.ack` when the message starts a reply,
 * or at once when nobody watches `/proxy-ws` (then the queue is dropped: nobody would hear the answers). The next
 * goes after `minInterval` at the earliest, so the hub holds at most one chat message and a busy chat cannot
 * outrun the character. An ack that never comes holds the queue at most `handoffBound`.
 */

export interface LiveChatContext {
  queue: Array<{ roomId: number; text: string }>;
  queueMax: number;
  rooms: readonly number[];
  counts: LiveChatCounts;
  /** Messages have been dropped since the queue last ran empty (the overflow is reported once per burst). */
  overflowing: boolean;
  /** The hub's last answer was `unheard` (reported once until a message is heard again). */
  unheard: boolean;
}

export const liveChatMachine = setup({
  types: {
    context: {} as LiveChatContext,
    events: {} as LiveChatEvent,
    input: {} as LiveChatInput,
  },
  actors: {
    liveRoom: liveChatRoomMachine,
  },
  delays: {
    /** The least time between two messages handed to the hub. */
    minInterval: 5_000,
    /** The longest the hub may keep a message without saying what became of it. */
    handoffBound: 300_000,
  },
  guards: {
    hasQueued: ({ context }) => context.queue.length > 0,
  },
  actions: {
    openRooms: enqueueActions(({ context, enqueue }) => {
      for (const roomId of new Set(context.rooms)) enqueue.spawnChild('liveRoom', { id: `room.${roomId}`, input: { roomId } });
    }),
    take: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'room.danmaku') return;
      const queue = [...context.queue, { roomId: event.roomId, text: event.text }];
      const over = Math.max(0, queue.length - context.queueMax);
      enqueue.assign({
        queue: queue.slice(over),
        counts: { ...context.counts, received: context.counts.received + 1, dropped: context.counts.dropped + over },
        overflowing: context.overflowing || over > 0,
      });
      if (over > 0 && !context.overflowing) enqueue('reportOverflow');
    }),
    handOver: enqueueActions(({ context, system, enqueue }) => {
      const [next, ...rest] = context.queue;
      if (!next) return;
      enqueue.assign({ queue: rest, overflowing: context.overflowing && rest.length > 0 });
      const hub = system.get(PROXY_HUB_SYSTEM_ID);
      const input: LiveInputEvent = { type: 'live.input', text: next.text };
      if (hub) enqueue.sendTo(hub, input);
      else enqueue.raise({ type: 'live.ack', outcome: 'unheard' });
    }),
    acknowledged: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'live.ack') return;
      const { counts } = context;
      if (event.outcome === 'released') {
        enqueue.assign({ counts: { ...counts, released: counts.released + 1 }, unheard: false });
        return;
      }
      if (event.outcome === 'elsewhere') {
        // The instance that runs the session hears the same rooms: the waiting messages are its to answer too.
        enqueue.assign({ queue: [], overflowing: false, counts: { ...counts, elsewhere: counts.elsewhere + 1 + context.queue.length } });
        return;
      }
      // Nobody watches: the waiting messages would be answered to nobody either.
      enqueue.assign({ queue: [], overflowing: false, unheard: true, counts: { ...counts, unheard: counts.unheard + 1 + context.queue.length } });
      if (!context.unheard) enqueue('reportUnheard');
    }),
    /** Told once per burst of dropped messages (src logs it). */
    reportOverflow: () => undefined,
    /** Told when messages start going unheard (src logs it). */
    reportUnheard: () => undefined,
    /** Told when the hub kept a message past `handoffBound` (src logs it). */
    reportOverdue: () => undefined,
  },
}).createMachine({
  id: 'liveChat',
  context: ({ input }) => ({
    queue: [],
    queueMax: input.queueMax,
    rooms: input.rooms,
    counts: { received: 0, released: 0, dropped: 0, unheard: 0, elsewhere: 0 },
    overflowing: false,
    unheard: false,
  }),
  entry: 'openRooms',
  on: { 'room.danmaku': { actions: 'take' } },
  initial: 'open',
  states: {
    open: {
      always: { guard: 'hasQueued', target: 'handingOver', actions: 'handOver' },
    },
    handingOver: {
      on: { 'live.ack': { target: 'spacing', actions: 'acknowledged' } },
      after: { handoffBound: { target: 'spacing', actions: 'reportOverdue' } },
    },
    spacing: {
      after: { minInterval: 'open' },
    },
  },
});
