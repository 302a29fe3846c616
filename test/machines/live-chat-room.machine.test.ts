import { createActor, fromCallback, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import type { RoomDanmakuEvent, RoomSocketEvent, RoomSocketInput } from '../../machines/live-chat-contract.js';
import { liveChatRoomMachine } from '../../machines/live-chat-room.machine.js';
import { backoffMs } from '../../src/engines/http-retry.js';

/**
 * machines/live-chat-room.machine.ts on a SimulatedClock: fake sockets the test speaks through, and a parent that
 * records the chat messages the room passes on. Its bounds (the room accepted in time, a live connection never silent
 * too long) and its reconnects with their backoff. The real socket is in test/live/bilibili-room-socket.test.ts.
 */

const BACKOFF = (attempt: number) => backoffMs(attempt, 1_000, 60_000);

function runRoom(roomId = 7) {
  const reports: string[] = [];
  const passed: RoomDanmakuEvent[] = [];
  const sockets: Array<{ say: (event: RoomSocketEvent) => void; stopped: boolean }> = [];
  const roomSocket = fromCallback<EventObject, RoomSocketInput>(({ input, sendBack }) => {
    expect(input).toEqual({ roomId });
    const socket = { say: sendBack, stopped: false };
    sockets.push(socket);
    return () => {
      socket.stopped = true;
    };
  });
  const room = liveChatRoomMachine.provide({
    actors: { roomSocket },
    delays: { reconnectBackoff: ({ context }) => BACKOFF(context.attempt) },
    actions: {
      reportLive: ({ context }) => reports.push(`room ${context.roomId} live`),
      reportRetry: ({ context }) => reports.push(`room ${context.roomId}: ${context.problem}; retry in ${BACKOFF(context.attempt)}`),
    },
  });
  const parent = setup({ actors: { room } }).createMachine({
    invoke: { id: 'room', src: 'room', input: { roomId } },
    on: { 'room.danmaku': { actions: ({ event }) => passed.push(event as RoomDanmakuEvent) } },
  });
  const clock = new SimulatedClock();
  const actor = createActor(parent, { clock }).start();
  const state = () => (actor.getSnapshot().children.room as AnyActorRef).getSnapshot().value;
  const last = () => sockets.at(-1)!;
  const live = () => last().say({ type: 'socket.live' });
  const close = (reason = 'dropped') => last().say({ type: 'socket.closed', reason });
  return { actor, clock, reports, passed, sockets, state, last, live, close };
}

describe('a live room: its connection, its bounds, its reconnects', () => {
  test('chat messages of a live connection go to the parent, with the room', () => {
    const run = runRoom();
    expect(run.state()).toEqual({ connected: 'connecting' });
    run.live();
    run.last().say({ type: 'socket.danmaku', text: 'hi', user: 'u' });
    expect(run.passed).toEqual([{ type: 'room.danmaku', roomId: 7, text: 'hi', user: 'u' }]);
    expect(run.reports).toEqual(['room 7 live']);
  });

  test('a lost connection is opened again after 1 s, 2 s, 4 s … in a row, and from 1 s again once one is accepted', () => {
    const run = runRoom();
    run.live();
    run.close();
    expect(run.state()).toBe('retrying');
    run.clock.increment(999);
    expect(run.sockets).toHaveLength(1);
    run.clock.increment(1);
    expect(run.sockets).toHaveLength(2);
    run.close();
    run.clock.increment(1_999);
    expect(run.sockets).toHaveLength(2);
    run.clock.increment(1);
    run.close();
    run.clock.increment(4_000);
    expect(run.sockets).toHaveLength(4);
    run.live();
    run.close();
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
    const run = runRoom();
    for (let attempt = 0; attempt < 8; attempt++) {
      run.close('refused');
      run.clock.increment(BACKOFF(attempt));
    }
    expect(run.reports.at(-1)).toBe('room 7: refused; retry in 60000');
    expect(run.sockets).toHaveLength(9);
  });

  test('a server that does not accept the room within connectBound is left and tried again', () => {
    const run = runRoom();
    run.clock.increment(9_999);
    expect(run.state()).toEqual({ connected: 'connecting' });
    run.clock.increment(1);
    expect(run.sockets[0]!.stopped).toBe(true);
    expect(run.reports).toEqual(['room 7: the chat server did not accept the room in time; retry in 1000']);
    run.clock.increment(1_000);
    expect(run.sockets).toHaveLength(2);
  });

  test('a live connection silent for silenceBound is left; heartbeats and messages keep it', () => {
    const run = runRoom();
    run.live();
    for (let i = 0; i < 3; i++) {
      run.clock.increment(69_999);
      run.last().say({ type: 'socket.heartbeat', online: 1 });
    }
    run.clock.increment(69_999);
    run.last().say({ type: 'socket.danmaku', text: 'still here', user: 'u' });
    run.clock.increment(69_999);
    expect(run.state()).toEqual({ connected: 'live' });
    run.clock.increment(1);
    expect(run.state()).toBe('retrying');
    expect(run.reports.at(-1)).toBe('room 7: the chat server went silent; retry in 1000');
  });

  test('a socket that fails to start is retried like a lost one', () => {
    let starts = 0;
    const failing = fromCallback<EventObject, RoomSocketInput>(() => {
      starts++;
      throw new Error('no network');
    });
    const clock = new SimulatedClock();
    const room = createActor(liveChatRoomMachine.provide({ actors: { roomSocket: failing }, delays: { reconnectBackoff: 1_000 } }), { input: { roomId: 3 }, clock }).start();
    expect(room.getSnapshot().value).toBe('retrying');
    expect(room.getSnapshot().context.problem).toBe('no network');
    clock.increment(1_000);
    expect(starts).toBe(2);
    room.stop();
  });

  test('stopping the room closes its connection', () => {
    const run = runRoom();
    run.live();
    run.actor.stop();
    expect(run.sockets.map((s) => s.stopped)).toEqual([true]);
  });
});
