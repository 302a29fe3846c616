import { createHash } from 'node:crypto';
import { z } from 'zod';
import { engineRequest } from '../engines/engine-http.js';

/**
 * How a room's danmaku connection is made (upstream's client, blivedm, does the same): the room's long id from
 * `room_init` (a room's address may carry a short one), and with `sessdata` (the SESSDATA cookie of a logged-in
 * browser) a logged-in connection: the account's uid from `nav`, a browser id (`buvid3`) from `finger/spi`, and the
 * chat server and its token from `getDanmuInfo`, a request bilibili wants signed with its WBI scheme. Without
 * sessdata the room is read as a guest on the public endpoint. Every answer is checked with zod.
 */

export interface BilibiliEndpoints {
  /** https://api.bilibili.com */
  api: string;
  /** https://api.live.bilibili.com */
  live: string;
  /** The guest's danmaku WebSocket URL. */
  guestSocket: string;
}

export const BILIBILI_ENDPOINTS: BilibiliEndpoints = {
  api: 'https://api.bilibili.com',
  live: 'https://api.live.bilibili.com',
  guestSocket: 'wss://broadcastlv.chat.bilibili.com/sub',
};

/** Where and how to authenticate: the WebSocket URL and the body of the auth packet's variable part. */
export interface RoomConnection {
  roomId: number;
  address: string;
  uid: number;
  key?: string;
  buvid?: string;
}

/** WBI's fixed permutation of the 64 characters of the two keys `nav` names. */
const MIXIN_ORDER = [
  46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61,
  26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
];

export function wbiMixinKey(imgKey: string, subKey: string): string {
  const raw = imgKey + subKey;
  return MIXIN_ORDER.map((i) => raw[i] ?? '').join('').slice(0, 32);
}

/** The query of a WBI-signed request: the parameters and `wts` sorted by name, then `w_rid`, the MD5 of that and the key. */
export function wbiQuery(params: Record<string, string | number>, mixinKey: string, nowSeconds: number): string {
  const all: Record<string, string | number> = { ...params, wts: nowSeconds };
  const query = Object.keys(all)
    .sort()
    .map((name) => `${encodeURIComponent(name)}=${encodeURIComponent(String(all[name]).replace(/[!'()*]/g, ''))}`)
    .join('&');
  return `${query}&w_rid=${createHash('md5').update(query + mixinKey).digest('hex')}`;
}

const answer = <T extends z.ZodType>(data: T) => z.object({ code: z.literal(0), data });
const roomInit = answer(z.object({ room_id: z.number().int().positive() }));
const spi = answer(z.object({ b_3: z.string().min(1) }));
// `nav` answers -101 (not logged in) with the WBI keys all the same.
const nav = z.object({
  code: z.number(),
  data: z.object({ isLogin: z.boolean(), mid: z.number().int().optional(), wbi_img: z.object({ img_url: z.string(), sub_url: z.string() }) }),
});
const danmuInfo = answer(
  z.object({ token: z.string(), host_list: z.array(z.object({ host: z.string().min(1), ws_port: z.number().int(), wss_port: z.number().int() })).min(1) }),
);

async function getJson<T extends z.ZodType>(url: string, schema: T, signal: AbortSignal, cookie?: string): Promise<z.infer<T>> {
  const headers: Record<string, string> = { 'user-agent': 'Mozilla/5.0', referer: 'https://live.bilibili.com/' };
  if (cookie) headers.cookie = cookie;
  const res = await engineRequest(url, { headers, signal });
  if (!res.ok) {
    await res.cancel();
    throw new Error(`${new URL(url).pathname}: HTTP ${res.status}`);
  }
  const parsed = schema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`${new URL(url).pathname}: an unexpected answer`);
  return parsed.data;
}

/** The room's long id (`room_init`); the given one when that cannot be had. */
export async function longRoomId(roomId: number, endpoints: BilibiliEndpoints, signal: AbortSignal): Promise<number> {
  try {
    return (await getJson(`${endpoints.live}/room/v1/Room/room_init?id=${roomId}`, roomInit, signal)).data.room_id;
  } catch (err) {
    if (signal.aborted) throw err;
    return roomId;
  }
}

/** A logged-in connection to `roomId` (a long id) with the account of `sessdata`; throws why it cannot be had. */
export async function loggedInConnection(roomId: number, sessdata: string, endpoints: BilibiliEndpoints, signal: AbortSignal, now = Date.now()): Promise<RoomConnection> {
  const buvid = (await getJson(`${endpoints.api}/x/frontend/finger/spi`, spi, signal)).data.b_3;
  const cookie = `SESSDATA=${sessdata}; buvid3=${buvid}`;
  const account = (await getJson(`${endpoints.api}/x/web-interface/nav`, nav, signal, cookie)).data;
  if (!account.isLogin || !account.mid) throw new Error('bilibili did not accept the sessdata (logged out, or expired)');
  const keyOf = (url: string) => url.slice(url.lastIndexOf('/') + 1).split('.')[0] ?? '';
  const mixin = wbiMixinKey(keyOf(account.wbi_img.img_url), keyOf(account.wbi_img.sub_url));
  const query = wbiQuery({ id: roomId, type: 0 }, mixin, Math.floor(now / 1000));
  const server = (await getJson(`${endpoints.live}/xlive/web-room/v1/index/getDanmuInfo?${query}`, danmuInfo, signal, cookie)).data;
  const host = server.host_list[0]!;
  // The chat server is reached the way the API is: TLS in production, plain on a loopback test server.
  const address = endpoints.live.startsWith('https:') ? `wss://${host.host}:${host.wss_port}/sub` : `ws://${host.host}:${host.ws_port}/sub`;
  return { roomId, address, uid: account.mid, key: server.token, buvid };
}
