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
 * machines/live-chat.machine.ts and live-chat-room.machine.ts on a SimulatedClock: fake room sockets the test speaks
 * through, and a fake hub that records what it is handed and acknowledges as the test says. The queue and its bound,
 * the spacing between messages, what the hub's answers do, and each room's reconnects with their backoff and bounds.
 * The real sockets are in test/live/.
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
    expect(run.context().counts).toEqual({ received: 3, released: 3, dropped: 0, unheard: 0 });
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
    expect(run.context().counts).toEqual({ received: 3, released: 0, dropped: 0, unheard: 3 });
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

describe('live chat: a room reconnects', () => {
  const roomState = (run: ReturnType<typeof runChat>) => (run.chat.getSnapshot().children['room.7'] as AnyActorRef).getSnapshot().value;

  test('a lost connection is opened again after 1 s, 2 s, 4 s … in a row, and from 1 s again once one is accepted', () => {
    const run = runChat();
    const close = () => run.socketOf(7).say({ type: 'socket.closed', reason: 'dropped' });
    run.live();
    close();
    expect(roomState(run)).toBe('retrying');
    run.clock.increment(999);
    expect(run.sockets).toHaveLength(1);
    run.clock.increment(1);
    expect(run.sockets).toHaveLength(2);
    close();
    run.clock.increment(1_999);
    expect(run.sockets).toHaveLength(2);
    run.clock.increment(1);
    close();
    run.clock.increment(4_000);
    expect(run.sockets).toHaveLength(4);
    run.live();
    close();
    run.clock.increment(1_000);
    expect(run.sockets).toHaveLength(5);
    expect(run.reports.filter((r) => r.includes('retry'))).toEqual([
      'room 7: dropped; retry in 1000',
      'room 7: dropped; retry in 2000',
      'room 7: dropped; retry in 4000',
      'room 7: dropped; retry in 1000',
    ]);
    expect(run.sockets.slice(0, -1).every((s) => s.stopped)).toBe(true);
  });

  test('the backoff stops growing at a minute', () => {
    const run = runChat();
    for (let attempt = 0; attempt < 8; attempt++) {
      run.socketOf(7).say({ type: 'socket.closed', reason: 'refused' });
      run.clock.increment(BACKOFF(attempt));
    }
    expect(run.reports.at(-1)).toBe('room 7: refused; retry in 60000');
    expect(run.sockets).toHaveLength(9);
  });

  test('a server that does not accept the room within connectBound is left and tried again', () => {
    const run = runChat();
    run.clock.increment(10_000);
    expect(run.sockets[0]!.stopped).toBe(true);
    expect(run.reports).toEqual(['room 7: the chat server did not accept the room in time; retry in 1000']);
    run.clock.increment(1_000);
    expect(run.sockets).toHaveLength(2);
  });

  test('a live connection silent for silenceBound is left; heartbeats and messages keep it', () => {
    const run = runChat();
    run.live();
    for (let i = 0; i < 3; i++) {
      run.clock.increment(69_999);
      run.socketOf(7).say({ type: 'socket.heartbeat', online: 1 });
    }
    run.clock.increment(69_999);
    run.say('still here');
    run.clock.increment(69_999);
    expect(roomState(run)).toEqual({ connected: 'live' });
    run.clock.increment(1);
    expect(roomState(run)).toBe('retrying');
    expect(run.reports.at(-1)).toBe('room 7: the chat server went silent; retry in 1000');
  });

  test('a socket that fails to start is retried like a lost one', () => {
    let starts = 0;
    const failing = fromCallback<EventObject, RoomSocketInput>(() => {
      starts++;
      throw new Error('no network');
    });
    const room = createActor(
      liveChatRoomMachine.provide({ actors: { roomSocket: failing }, delays: { reconnectBackoff: 1_000 } }),
      { input: { roomId: 3 }, clock: new SimulatedClock() },
    ).start();
    expect(room.getSnapshot().value).toBe('retrying');
    expect(room.getSnapshot().context.problem).toBe('no network');
    expect(starts).toBe(1);
    room.stop();
  });
});
