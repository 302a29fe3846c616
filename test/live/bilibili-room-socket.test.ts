import { deflateSync } from 'node:zlib';
import { createActor, setup, type AnyActorRef } from 'xstate';
import type { RoomSocketEvent } from '../../machines/live-chat-contract.js';
import { createBilibiliRoomSocket } from '../../src/live/bilibili-room-actor.js';
import { danmuMsg, FAKE_ACCOUNT, messages, OP, packet, startFakeDanmakuServer, type FakeDanmakuServer } from '../fakes/bilibili-danmaku-server.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { settleOrStall } from '../helpers/ws-client.js';

/**
 * src/live/bilibili-room-actor.ts over real sockets against the fake danmaku server: the HTTP requests that say where
 * to connect (a short room id, a login with sessdata), the authentication, the heartbeat, chat in zlib and brotli
 * bodies holding several packets, and frames that cannot be read (the connection is closed with the reason, the
 * process goes on).
 */

function runSocket(endpoints: FakeDanmakuServer['endpoints'], roomId = 5050, sessdata = '') {
  const events: RoomSocketEvent[] = [];
  let wake: () => void = () => undefined;
  const log = recordingLogger();
  const parent = setup({ actors: { roomSocket: createBilibiliRoomSocket({ endpoints, sessdata, logger: log.logger }) } }).createMachine({
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
  return { actor, events, seen, texts, log: log.lines };
}

describe('a room socket (bilibili-live-ws against the fake danmaku server)', () => {
  let fake: FakeDanmakuServer;
  beforeEach(async () => {
    fake = await startFakeDanmakuServer({ popularity: 777 });
  });
  afterEach(() => fake.close());

  test('authenticates as a guest for its room with protocol 3, is accepted, and hears its heartbeat answered', async () => {
    const socket = runSocket(fake.endpoints, 5050);
    await socket.seen('socket.live');
    expect(fake.auths).toEqual([{ uid: 0, roomid: 5050, protover: 3, platform: 'web', type: 2 }]);
    await socket.seen('socket.heartbeat');
    expect(socket.events.find((e) => e.type === 'socket.heartbeat')).toEqual({ type: 'socket.heartbeat', online: 777 });
    socket.actor.stop();
    await settleOrStall(fake.allClosed(), 5000, 'the socket closed when its actor stopped');
  });

  test('a short room id is turned into the room\'s long one first', async () => {
    await fake.close();
    fake = await startFakeDanmakuServer({ longIds: { 6: 7734200 } });
    const socket = runSocket(fake.endpoints, 6);
    await socket.seen('socket.live');
    expect(fake.requests).toEqual(['/room/v1/Room/room_init?id=6']);
    expect(fake.auths).toEqual([expect.objectContaining({ uid: 0, roomid: 7734200 })]);
    socket.actor.stop();
  });

  test('with sessdata: logged in as the account, with its browser id and the chat server\'s token (a WBI-signed request)', async () => {
    await fake.close();
    fake = await startFakeDanmakuServer({ sessdata: 'the-cookie' });
    const socket = runSocket(fake.endpoints, 5050, 'the-cookie');
    await socket.seen('socket.live');
    expect(fake.requests.map((r) => r.split('?')[0])).toEqual([
      '/room/v1/Room/room_init',
      '/x/frontend/finger/spi',
      '/x/web-interface/nav',
      '/xlive/web-room/v1/index/getDanmuInfo',
    ]);
    expect(fake.requests.at(-1)).toMatch(/\?id=5050&type=0&wts=\d+&w_rid=[0-9a-f]{32}$/);
    expect(fake.auths).toEqual([{ uid: FAKE_ACCOUNT.mid, roomid: 5050, protover: 3, platform: 'web', type: 2, key: FAKE_ACCOUNT.token, buvid: FAKE_ACCOUNT.buvid }]);
    expect(socket.log).toEqual([]);
    socket.actor.stop();
  });

  test('sessdata that bilibili does not accept: the log says so and the room is read as a guest', async () => {
    await fake.close();
    fake = await startFakeDanmakuServer({ sessdata: 'the-cookie' });
    const socket = runSocket(fake.endpoints, 5050, 'an-expired-cookie');
    await socket.seen('socket.live');
    expect(fake.auths).toEqual([expect.objectContaining({ uid: 0, roomid: 5050 })]);
    expect(socket.log).toEqual([expect.stringMatching(/^warn: live chat: room 5050: logging in with sessdata failed \(bilibili did not accept the sessdata.*reading it as a guest$/)]);
    socket.actor.stop();
  });

  test.each(['zlib', 'brotli'] as const)('chat in a %s body of several packets comes out message by message, in order', async (compression) => {
    const socket = runSocket(fake.endpoints);
    await socket.seen('socket.live');
    fake.say(['first', '  second  ', 'third'], compression);
    await socket.seen('socket.danmaku', 3);
    expect(socket.texts()).toEqual(['first', 'second', 'third']);
    expect(socket.events.find((e) => e.type === 'socket.danmaku')).toEqual({ type: 'socket.danmaku', text: 'first', user: 'viewer' });
    socket.actor.stop();
  });

  test('what is not a chat message with words is passed over', async () => {
    const socket = runSocket(fake.endpoints);
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
    const socket = runSocket(fake.endpoints);
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
    const socket = runSocket(fake.endpoints);
    await socket.seen('socket.closed');
    expect(socket.events).toEqual([{ type: 'socket.closed', reason: expect.stringContaining('refused the room (code -101)') }]);
    socket.actor.stop();
  });

  test('a dropped connection and one never made are both reported closed', async () => {
    const socket = runSocket(fake.endpoints);
    await socket.seen('socket.live');
    fake.dropAll();
    await socket.seen('socket.closed');
    socket.actor.stop();
    const nowhere = runSocket({ api: 'http://127.0.0.1:1', live: 'http://127.0.0.1:1', guestSocket: 'ws://127.0.0.1:1/sub' });
    await nowhere.seen('socket.closed');
    nowhere.actor.stop();
  });
});
