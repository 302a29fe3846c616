import { deflateSync } from 'node:zlib';
import { createActor, setup, type AnyActorRef } from 'xstate';
import type { RoomSocketEvent } from '../../machines/live-chat-contract.js';
import { createBilibiliRoomSocket } from '../../src/live/bilibili-room-actor.js';
import { danmuMsg, messages, OP, packet, startFakeDanmakuServer, type FakeDanmakuServer } from '../fakes/bilibili-danmaku-server.js';
import { settleOrStall } from '../helpers/ws-client.js';

/**
 * src/live/bilibili-room-actor.ts over a real socket against the fake danmaku server: the guest authentication, the
 * heartbeat, chat in zlib and brotli bodies holding several packets, and frames that cannot be read (the connection
 * is closed with the reason, the process goes on).
 */

function runSocket(address: string, roomId = 5050) {
  const events: RoomSocketEvent[] = [];
  let wake: () => void = () => undefined;
  const parent = setup({ actors: { roomSocket: createBilibiliRoomSocket({ address }) } }).createMachine({
    invoke: { id: 'socket', src: 'roomSocket', input: { roomId } },
    on: {
      '*': {
        actions: ({ event }) => {
          events.push(event as RoomSocketEvent);
          wake();
        },
      },
    },
  });
  const actor: AnyActorRef = createActor(parent).start();
  /** Resolves once an event of `type` has come (`n` of them), failing with what came instead if it does not. */
  const seen = (type: RoomSocketEvent['type'], n = 1) =>
    settleOrStall(
      (async () => {
        while (events.filter((e) => e.type === type).length < n) await new Promise<void>((resolve) => (wake = resolve));
      })(),
      5000,
      `${n} × ${type}; got ${JSON.stringify(events)}`,
    );
  const texts = () => events.flatMap((e) => (e.type === 'socket.danmaku' ? [e.text] : []));
  return { actor, events, seen, texts };
}

describe('a room socket (bilibili-live-ws against the fake danmaku server)', () => {
  let fake: FakeDanmakuServer;
  beforeEach(async () => {
    fake = await startFakeDanmakuServer({ popularity: 777 });
  });
  afterEach(() => fake.close());

  test('authenticates as a guest for its room with protocol 3, is accepted, and hears its heartbeat answered', async () => {
    const socket = runSocket(fake.address, 5050);
    await socket.seen('socket.live');
    expect(fake.auths).toEqual([{ uid: 0, roomid: 5050, protover: 3, platform: 'web', type: 2 }]);
    await socket.seen('socket.heartbeat');
    expect(socket.events.find((e) => e.type === 'socket.heartbeat')).toEqual({ type: 'socket.heartbeat', online: 777 });
    socket.actor.stop();
    await settleOrStall(fake.allClosed(), 5000, 'the socket closed when its actor stopped');
  });

  test.each(['zlib', 'brotli'] as const)('chat in a %s body of several packets comes out message by message, in order', async (compression) => {
    const socket = runSocket(fake.address);
    await socket.seen('socket.live');
    fake.say(['first', '  second  ', 'third'], compression);
    await socket.seen('socket.danmaku', 3);
    expect(socket.texts()).toEqual(['first', 'second', 'third']);
    expect(socket.events.find((e) => e.type === 'socket.danmaku')).toEqual({ type: 'socket.danmaku', text: 'first', user: 'viewer' });
    socket.actor.stop();
  });

  test('what is not a chat message with words is passed over', async () => {
    const socket = runSocket(fake.address);
    await socket.seen('socket.live');
    fake.sendRaw(messages([{ cmd: 'DANMU_MSG', info: 'not a list' }, danmuMsg('   '), { cmd: 'SEND_GIFT', data: {} }, danmuMsg('x'.repeat(500)), danmuMsg('kept')], 'zlib'));
    await socket.seen('socket.danmaku', 2);
    expect(socket.texts()).toEqual(['x'.repeat(200), 'kept']);
    socket.actor.stop();
  });

  const unreadable: Array<[string, () => Buffer, RegExp]> = [
    ['a packet length of zero', () => packet(OP.message, 0, '{}').fill(0, 0, 4), /packet length of 0/],
    ['a length past the frame', () => packet(OP.message, 0, '{}').fill(0xff, 0, 2), /packet length/],
    ['a header length other than 16', () => packet(OP.message, 0, '{}').fill(0, 4, 5).fill(12, 5, 6), /header length of 12/],
    ['a body that is not zlib', () => packet(OP.message, 2, Buffer.from('not zlib at all')), /compressed packet/],
    ['compression inside compression', () => packet(OP.message, 2, deflateSync(messages([danmuMsg('nested')], 'zlib'))), /protocol version 2/],
    ['a body that is not JSON', () => packet(OP.message, 0, '{not json'), /could not be read/],
  ];
  test.each(unreadable)('%s closes the connection with the reason', async (_what, frame, reason) => {
    const socket = runSocket(fake.address);
    await socket.seen('socket.live');
    fake.sendRaw(frame());
    await socket.seen('socket.closed');
    expect(socket.events.find((e) => e.type === 'socket.closed')).toEqual({ type: 'socket.closed', reason: expect.stringMatching(reason) });
    expect(socket.texts()).toEqual([]);
    socket.actor.stop();
  });

  test('a refused authentication closes the connection, saying so', async () => {
    await fake.close();
    fake = await startFakeDanmakuServer({ authReply: { code: -101 } });
    const socket = runSocket(fake.address);
    await socket.seen('socket.closed');
    expect(socket.events).toEqual([{ type: 'socket.closed', reason: expect.stringContaining('refused the room (code -101)') }]);
    socket.actor.stop();
  });

  test('a dropped connection and one never made are both reported closed', async () => {
    const socket = runSocket(fake.address);
    await socket.seen('socket.live');
    fake.dropAll();
    await socket.seen('socket.closed');
    socket.actor.stop();
    const nowhere = runSocket('ws://127.0.0.1:1/sub');
    await nowhere.seen('socket.closed');
    nowhere.actor.stop();
  });
});
