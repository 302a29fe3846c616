// bilibili-live-ws's WebSocket client, built with our own decompressors (its index builds it with unbounded ones).
import { LiveWSBase } from 'bilibili-live-ws/src/ws.js';
import { fromCallback, type EventObject } from 'xstate';
import type { RoomSocketEvent, RoomSocketInput } from '../../machines/live-chat-contract.js';
import { authRefusal, checkedInflates, framingProblem, readDanmaku } from './danmaku-packets.js';

/** bilibili's public danmaku endpoint: it takes a guest (uid 0) without a token. */
export const BILIBILI_DANMAKU_URL = 'wss://broadcastlv.chat.bilibili.com/sub';

export interface RoomSocketOptions {
  /** The danmaku WebSocket URL (tests point it at a local fake server). */
  address: string;
}

type Listener = (...args: any[]) => void;

/**
 * The `roomSocket` slot of live-chat-room.machine.ts: one WebSocket to a room's danmaku stream, through
 * bilibili-live-ws. It authenticates as a guest with protocol version 3 (brotli), answers the server's heartbeats
 * (the library sends one 30 s after each answer), and reports `socket.live` when the room is accepted, each answer,
 * each chat message, and `socket.closed` with the reason when the connection ends. Every frame is checked
 * (danmaku-packets.ts) before the library decodes it; a frame that fails closes the connection, and the room's
 * machine opens a new one. Stopping the actor closes the socket.
 */
export function createBilibiliRoomSocket(options: RoomSocketOptions) {
  return fromCallback<EventObject, RoomSocketInput>(({ input, sendBack }) => {
    const report = (event: RoomSocketEvent) => sendBack(event);
    let problem: string | null = null;
    const live = new LiveWSBase(checkedInflates, input.roomId, { address: options.address, protover: 3, uid: 0 });
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
  });
}
