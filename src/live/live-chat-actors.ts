import type { LiveChatInput } from '../../machines/live-chat-contract.js';
import { liveChatRoomMachine, type LiveRoomContext } from '../../machines/live-chat-room.machine.js';
import { liveChatMachine, type LiveChatContext } from '../../machines/live-chat.machine.js';
import type { AppConfig } from '../config/app-config.js';
import { backoffMs } from '../engines/http-retry.js';
import type { Logger } from '../observability/logger.js';
import { BILIBILI_ENDPOINTS, type BilibiliEndpoints } from './bilibili-login.js';
import { createBilibiliRoomSocket } from './bilibili-room-actor.js';

/** Reconnects wait 1 s, 2 s, 4 s … at most a minute (backoffMs, the one backoff rule). */
const RECONNECT_BASE_MS = 1_000;
const RECONNECT_MAX_MS = 60_000;

export interface LiveChatOptions {
  /** bilibili's API and guest danmaku URL by default (tests use a local fake server). */
  endpoints?: BilibiliEndpoints;
  /** The first reconnect's wait (tests shorten it). */
  reconnectBaseMs?: number;
}

/**
 * What the server's `liveChat` child gets from conf.yaml, or null when it does not run: no rooms, or no `/proxy-ws`
 * (the chat's answers are heard through the proxy's viewers, so without it the rooms are not read; said once).
 */
export function liveChatInput(app: AppConfig, logger: Logger): LiveChatInput | null {
  const rooms = [...new Set(app.live?.bilibili_live?.room_ids ?? [])];
  if (rooms.length === 0) return null;
  if (!app.system.enable_proxy) {
    logger.warn(
      `live_config.bilibili_live.room_ids is set but system_config.enable_proxy is false: the live chat is not read. ` +
        `Set enable_proxy: true and show a page connected to /proxy-ws on the stream; the character answers the chat there`,
    );
    return null;
  }
  return { rooms, queueMax: app.system.live_chat_queue_max };
}

/** liveChatMachine with its rooms' sockets, its timing from conf.yaml, and its reports logged. */
export function createLiveChat(app: AppConfig, logger: Logger, options: LiveChatOptions = {}) {
  const base = options.reconnectBaseMs ?? RECONNECT_BASE_MS;
  const wait = (attempt: number) => backoffMs(attempt, base, Math.max(base, RECONNECT_MAX_MS));
  const liveRoom = liveChatRoomMachine.provide({
    actors: {
      roomSocket: createBilibiliRoomSocket({ endpoints: options.endpoints ?? BILIBILI_ENDPOINTS, sessdata: app.live?.bilibili_live?.sessdata ?? '', logger }),
    },
    delays: { reconnectBackoff: ({ context }) => wait(context.attempt) },
    actions: {
      reportLive: ({ context }) => logger.info(`live chat: room ${context.roomId} connected`),
      reportRetry: ({ context }: { context: LiveRoomContext }) =>
        logger.warn(`live chat: room ${context.roomId}: ${context.problem}; connecting again in ${wait(context.attempt) / 1000} s`),
    },
  });
  return liveChatMachine.provide({
    actors: { liveRoom },
    delays: { minInterval: app.system.live_chat_min_interval_seconds * 1000 },
    actions: {
      reportOverflow: ({ context }: { context: LiveChatContext }) =>
        logger.warn(`live chat: more messages than the character can answer; only the newest ${context.queueMax} wait, older ones are dropped`),
      reportUnheard: () => logger.warn('live chat: nobody watches /proxy-ws, so chat messages are not answered until a page connects there'),
      reportOverdue: () => logger.warn('live chat: the /proxy-ws session kept a chat message too long; the next one goes'),
    },
  });
}
