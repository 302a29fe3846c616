import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import {
  LIVE_CHAT_SYSTEM_ID,
  PROXY_HUB_SYSTEM_ID,
  type LiveAckOutcome,
  type LiveChatInput,
  type RoomSocketEvent,
  type RoomSocketInput,
} from '../../machines/live-chat-contract.js';
import { liveChatRoomMachine } from '../../machines/live-chat-room.machine.js';
import { liveChatMachine, type LiveChatContext } from '../../machines/live-chat.machine.js';
import { backoffMs } from '../../src/engines/http-retry.js';

/**
 * machines/live-chat.machine.ts on a SimulatedClock, with its real room machines: fake room sockets the test speaks
 * through, and a fake hub that records what it is handed and acknowledges as the test says. The queue and its bound,
 * the spacing between messages, and what the hub's answers do. A room's reconnects are in
 * live-chat-room.machine.test.ts; the real sockets in test/live/.
 */

const BACKOFF = (attempt: number) => backoffMs(attempt, 1_000, 60_000);

function runChat(input: LiveChatInput = { rooms: [7], queueMax: 3 }) {
  const reports: string[] = [];
  const handed: string[] = [];
  const sockets: Array<{ roomId: number; say: (event: RoomSocketEvent) => void; stopped: boolean }> = [];
  const roomSocket = fromCallback<EventObject, RoomSocketInput>(({ input, sendBack }) => {
    const socket = { roomId: input.roomId, say: sendBack, stopped: false };
    sockets.push(socket);
    return () => {
      socket.stopped = true;
    };
  });
  const hub = fromCallback<EventObject>(({ receive }) => {
    receive((event) => {
      if (event.type === 'live.input') handed.push((event as { type: string; text: string }).text);
    });
  });
  const liveChat = liveChatMachine.provide({
    actors: {
      liveRoom: liveChatRoomMachine.provide({
        actors: { roomSocket },
        delays: { reconnectBackoff: ({ context }) => BACKOFF(context.attempt) },
        actions: {
          reportLive: ({ context }) => reports.push(`room ${context.roomId} live`),
          reportRetry: ({ context }) => reports.push(`room ${context.roomId}: ${context.problem}; retry in ${BACKOFF(context.attempt)}`),
        },
      }),
    },
    delays: { minInterval: 5_000, handoffBound: 300_000 },
    actions: {
      reportOverflow: () => reports.push('overflow'),
      reportUnheard: () => reports.push('unheard'),
      reportOverdue: () => reports.push('overdue'),
    },
  });
  const root = setup({ actors: { hub, liveChat } }).createMachine({
    invoke: [
      { src: 'hub', systemId: PROXY_HUB_SYSTEM_ID },
      { src: 'liveChat', systemId: LIVE_CHAT_SYSTEM_ID, input },
    ],
  });
  const clock = new SimulatedClock();
  const actor = createActor(root, { clock }).start();
  const chat = actor.system.get(LIVE_CHAT_SYSTEM_ID) as AnyActorRef;
  const socketOf = (roomId: number) => sockets.filter((s) => s.roomId === roomId).at(-1)!;
  const say = (text: string, roomId = input.rooms[0]!) => socketOf(roomId).say({ type: 'socket.danmaku', text, user: 'u' });
  const ack = (outcome: LiveAckOutcome) => chat.send({ type: 'live.ack', outcome });
  const context = () => chat.getSnapshot().context as LiveChatContext;
  const queued = () => context().queue.map((q) => q.text);
  const live = (roomId = input.rooms[0]!) => socketOf(roomId).say({ type: 'socket.live' });
  return { actor, chat, clock, reports, handed, sockets, socketOf, say, ack, context, queued, live };
}

describe('live chat: the queue, its bound and its pace', () => {
  test('one room connection per room, however often it is listed', () => {
    const run = runChat({ rooms: [1, 2, 1], queueMax: 3 });
    expect(run.sockets.map((s) => s.roomId)).toEqual([1, 2]);
  });

  test('a message goes to the hub at once; the next after the ack and minInterval, not before', () => {
    const run = runChat();
    run.live();
    run.say('one');
    run.say('two');
    run.say('three');
    expect(run.handed).toEqual(['one']);
    run.clock.increment(60_000);
    expect(run.handed).toEqual(['one']);
    run.ack('released');
    run.clock.increment(4_999);
    expect(run.handed).toEqual(['one']);
    run.clock.increment(1);
    expect(run.handed).toEqual(['one', 'two']);
    run.ack('released');
    run.clock.increment(5_000);
    expect(run.handed).toEqual(['one', 'two', 'three']);
    run.ack('released');
    expect(run.context().counts).toEqual({ received: 3, released: 3, dropped: 0, unheard: 0, elsewhere: 0 });
  });

  test('beyond queueMax the oldest waiting message is dropped, counted, and the overflow reported once per burst', () => {
    const run = runChat({ rooms: [7], queueMax: 3 });
    run.live();
    for (const text of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']) run.say(text);
    expect(run.handed).toEqual(['m1']);
    expect(run.queued()).toEqual(['m4', 'm5', 'm6']);
    expect(run.context().counts).toMatchObject({ received: 6, dropped: 2 });
    expect(run.reports.filter((r) => r === 'overflow')).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      run.ack('released');
      run.clock.increment(5_000);
    }
    expect(run.handed).toEqual(['m1', 'm4', 'm5', 'm6']);
    // The queue ran empty: the next overflow is a new burst, reported again.
    run.ack('released');
    run.clock.increment(5_000);
    for (const text of ['n1', 'n2', 'n3', 'n4', 'n5']) run.say(text);
    expect(run.reports.filter((r) => r === 'overflow')).toHaveLength(2);
  });

  test('nobody watching: the hub answers unheard and the waiting messages are dropped with it, reported once', () => {
    const run = runChat();
    run.live();
    run.say('a');
    run.say('b');
    run.say('c');
    run.ack('unheard');
    expect(run.queued()).toEqual([]);
    expect(run.context().counts).toEqual({ received: 3, released: 0, dropped: 0, unheard: 3, elsewhere: 0 });
    run.clock.increment(5_000);
    run.say('d');
    expect(run.handed).toEqual(['a', 'd']);
    run.ack('unheard');
    expect(run.reports.filter((r) => r === 'unheard')).toHaveLength(1);
    run.clock.increment(5_000);
    run.say('e');
    run.ack('released');
    run.clock.increment(5_000);
    run.say('f');
    run.ack('unheard');
    // Heard in between: going unheard again is reported again.
    expect(run.reports.filter((r) => r === 'unheard')).toHaveLength(2);
  });

  test('a hub that never answers holds the queue at most handoffBound', () => {
    const run = runChat();
    run.live();
    run.say('one');
    run.say('two');
    run.clock.increment(299_999);
    expect(run.handed).toEqual(['one']);
    run.clock.increment(1);
    expect(run.reports).toContain('overdue');
    run.clock.increment(5_000);
    expect(run.handed).toEqual(['one', 'two']);
    // A late answer to the first changes nothing.
    run.ack('released');
    expect(run.chat.getSnapshot().value).toBe('spacing');
  });

  test('stopping the live chat closes every room connection', () => {
    const run = runChat({ rooms: [1, 2], queueMax: 3 });
    run.actor.stop();
    expect(run.sockets.map((s) => s.stopped)).toEqual([true, true]);
  });
});
