// bilibili-live-ws's WebSocket client, built with our own decompressors (its index builds it with unbounded ones).
import { LiveWSBase } from 'bilibili-live-ws/src/ws.js';
import { fromCallback, type EventObject } from 'xstate';
import type { RoomSocketEvent, RoomSocketInput } from '../../machines/live-chat-contract.js';
import type { Logger } from '../observability/logger.js';
import { loggedInConnection, longRoomId, type BilibiliEndpoints, type RoomConnection } from './bilibili-login.js';
import { authRefusal, checkedInflates, framingProblem, readDanmaku } from './danmaku-packets.js';

export interface RoomSocketOptions {
  endpoints: BilibiliEndpoints;
  /** live_config.bilibili_live.sessdata: a logged-in connection when set. */
  sessdata: string;
  logger: Logger;
}

/** A listener of the library's events, whose arguments differ from event to event. */
type Listener = (...args: any[]) => void;

/** Where to connect: logged in with sessdata, or (without it, or when that fails, said in the log) as a guest. */
async function plan(roomId: number, options: RoomSocketOptions, signal: AbortSignal): Promise<RoomConnection> {
  const id = await longRoomId(roomId, options.endpoints, signal);
  if (options.sessdata) {
    try {
      return await loggedInConnection(id, options.sessdata, options.endpoints, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      options.logger.warn(`live chat: room ${roomId}: logging in with sessdata failed (${(err as Error).message}); reading it as a guest`);
    }
  }
  return { roomId: id, address: options.endpoints.guestSocket, uid: 0 };
}

/**
 * The `roomSocket` slot of live-chat-room.machine.ts: one WebSocket to a room's danmaku stream, through
 * bilibili-live-ws, after the HTTP requests that say where (bilibili-login.ts; aborted when the actor stops). It
 * authenticates with protocol version 3 (brotli), answers the server's heartbeats (the library sends one 30 s after
 * each answer), and reports `socket.live` when the room is accepted, each answer, each chat message, and
 * `socket.closed` with the reason when the connection ends. Every frame is checked (danmaku-packets.ts) before the
 * library decodes it; a frame that fails closes the connection, and the room's machine opens a new one. Stopping the
 * actor closes the socket.
 */
export function createBilibiliRoomSocket(options: RoomSocketOptions) {
  return fromCallback<EventObject, RoomSocketInput>(({ input, sendBack }) => {
    const report = (event: RoomSocketEvent) => sendBack(event);
    const abort = new AbortController();
    let release: () => void = () => undefined;
    plan(input.roomId, options, abort.signal).then(
      (connection) => {
        if (!abort.signal.aborted) release = open(connection, report);
      },
      (err: Error) => {
        if (!abort.signal.aborted) report({ type: 'socket.closed', reason: `finding the chat server failed (${err.message})` });
      },
    );
    return () => {
      abort.abort();
      release();
    };
  });
}

function open(connection: RoomConnection, report: (event: RoomSocketEvent) => void): () => void {
  let problem: string | null = null;
  const { roomId, address, ...auth } = connection;
  const live = new LiveWSBase(checkedInflates, roomId, { address, protover: 3, ...auth });
  // A failure is followed by 'close', which reports it; without a listener the library's 'error' would throw.
  live.on('error', () => undefined);
  const close = (why: string) => {
    problem ??= why;
    live.close();
  };
  // The library's own frame handler (decode, then emit), called only for frames that pass the checks.
  const [decode] = live.listeners('message') as Array<(data: Buffer) => Promise<void>>;
  live.removeAllListeners('message');
  const listeners: Record<string, Listener> = {
    message: (data: Buffer) => {
      const bad = framingProblem(data) ?? authRefusal(data);
      if (bad) return close(`a frame could not be read (${bad})`);
      decode!.call(live, data).catch((err: Error) => close(`a frame could not be read (${err.message})`));
    },
    live: () => report({ type: 'socket.live' }),
    heartbeat: (online: number) => report({ type: 'socket.heartbeat', online }),
    DANMU_MSG: (data: unknown) => {
      const danmaku = readDanmaku(data);
      if (danmaku) report({ type: 'socket.danmaku', ...danmaku });
    },
    close: () => report({ type: 'socket.closed', reason: problem ?? 'the chat server closed the connection' }),
  };
  for (const [event, listener] of Object.entries(listeners)) live.on(event, listener);
  return () => {
    for (const [event, listener] of Object.entries(listeners)) live.off(event, listener);
    live.close();
  };
}
