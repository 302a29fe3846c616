import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A stand-in for bilibili's danmaku WebSocket server, written from the wire format alone (nothing shared with the
 * client under test): every packet is a 16-byte big-endian header (packet length, header length 16, protocol version,
 * operation, sequence) and a body. A client authenticates with operation 7 (a JSON body) and is answered with
 * operation 8 `{"code":0}`; each heartbeat (2) is answered with 3 and the popularity count (32 bits); chat comes as
 * operation 5, here always compressed (protocol 2 zlib or 3 brotli) around several inner packets of protocol 0 JSON.
 *
 * The same server answers the HTTP API a client asks first: `room_init` (a short room id → the long one),
 * `finger/spi` (a browser id), `nav` (logged in when the SESSDATA cookie is the one given, with the WBI keys) and
 * `getDanmuInfo` (the chat server and a token, only with a correct WBI signature and the cookies; -352 otherwise).
 */

export const FAKE_ACCOUNT = { mid: 4242, buvid: 'FAKE-BUVID3-infoc', token: 'fake-danmaku-token' };
const IMG_KEY = '7cd084941338484aae1ad9425b84077c';
const SUB_KEY = '4932caff0ff746eab6f01bf08b70ac45';
const MIXIN = [
  46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29, 28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61,
  26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
];

/** Whether `query` carries a correct `w_rid` for its other parameters (WBI, as bilibili checks it). */
function wbiSigned(query: URLSearchParams): boolean {
  const mixin = MIXIN.map((i) => (IMG_KEY + SUB_KEY)[i]).join('').slice(0, 32);
  const rest = [...query.entries()].filter(([name]) => name !== 'w_rid').sort(([a], [b]) => (a < b ? -1 : 1));
  const plain = rest.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return query.has('wts') && createHash('md5').update(plain + mixin).digest('hex') === query.get('w_rid');
}

export const OP = { heartbeat: 2, heartbeatReply: 3, message: 5, auth: 7, authReply: 8 } as const;

/** One packet: header and body. */
export function packet(operation: number, protocol: number, body: Buffer | string, sequence = 1): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const header = Buffer.alloc(16);
  header.writeUInt32BE(16 + payload.length, 0);
  header.writeUInt16BE(16, 4);
  header.writeUInt16BE(protocol, 6);
  header.writeUInt32BE(operation, 8);
  header.writeUInt32BE(sequence, 12);
  return Buffer.concat([header, payload]);
}

/** A chat message as bilibili sends it (`info[1]` the text, `info[2]` the sender). */
export function danmuMsg(text: string, user = 'viewer', uid = 42): Record<string, unknown> {
  return {
    cmd: 'DANMU_MSG',
    info: [[0, 1, 25, 16777215, 1_700_000_000_000, 0, 0, 'c5c630b1', 0, 0, 0], text, [uid, user, 0, 0, 0, 10000, 1, ''], [], [0, 0, 0, '>50000'], ['', ''], 0, 0, null, { ts: 1_700_000_000, ct: '0' }],
  };
}

/** Operation 5 packets of `commands`, compressed together into one packet of protocol 2 (zlib) or 3 (brotli). */
export function messages(commands: Array<Record<string, unknown>>, compression: 'zlib' | 'brotli' = 'brotli'): Buffer {
  const inner = Buffer.concat(commands.map((command) => packet(OP.message, 0, JSON.stringify(command))));
  return compression === 'zlib' ? packet(OP.message, 2, deflateSync(inner)) : packet(OP.message, 3, brotliCompressSync(inner));
}

export interface FakeDanmakuServer {
  /** The guest's WebSocket URL. */
  address: string;
  /** The HTTP API and the guest's WebSocket URL, for the client (`BilibiliEndpoints`). */
  endpoints: { api: string; live: string; guestSocket: string };
  /** The path and query of every HTTP request, in order. */
  requests: string[];
  /** Every authentication body received, in order (one per connection). */
  auths: Array<Record<string, unknown>>;
  /** Connections accepted so far, and how many are open now. */
  connections(): number;
  open(): number;
  heartbeats(): number;
  /** Resolves at the `n`-th authentication (counted over the server's life). */
  authenticated(n: number): Promise<void>;
  /** Resolves once no connection is open. */
  allClosed(): Promise<void>;
  /** Sends raw bytes to every authenticated connection. */
  sendRaw(frame: Buffer): void;
  /** Sends chat messages, compressed together, to every authenticated connection. */
  say(texts: string[], compression?: 'zlib' | 'brotli'): void;
  /** Drops every connection without a close frame. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startFakeDanmakuServer(
  options: { authReply?: Record<string, unknown>; popularity?: number; sessdata?: string; longIds?: Record<number, number> } = {},
): Promise<FakeDanmakuServer> {
  const auths: Array<Record<string, unknown>> = [];
  const authenticatedSockets = new Set<WebSocket>();
  const events = new EventEmitter();
  let connections = 0;
  let heartbeats = 0;
  const requests: string[] = [];
  let port = 0;
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://fake');
    const cookies = new Map((req.headers.cookie ?? '').split(/;\s*/).map((c) => c.split('=') as [string, string]));
    const loggedIn = options.sessdata !== undefined && cookies.get('SESSDATA') === options.sessdata;
    const json = (body: unknown) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    switch (url.pathname) {
      case '/room/v1/Room/room_init': {
        const id = Number(url.searchParams.get('id'));
        return json({ code: 0, data: { room_id: options.longIds?.[id] ?? id, short_id: 0, uid: 1 } });
      }
      case '/x/frontend/finger/spi':
        return json({ code: 0, data: { b_3: FAKE_ACCOUNT.buvid, b_4: 'b4' } });
      case '/x/web-interface/nav': {
        const wbi_img = { img_url: `https://i0.hdslb.com/bfs/wbi/${IMG_KEY}.png`, sub_url: `https://i0.hdslb.com/bfs/wbi/${SUB_KEY}.png` };
        return json(loggedIn ? { code: 0, data: { isLogin: true, mid: FAKE_ACCOUNT.mid, wbi_img } } : { code: -101, data: { isLogin: false, wbi_img } });
      }
      case '/xlive/web-room/v1/index/getDanmuInfo':
        if (!wbiSigned(url.searchParams) || cookies.get('buvid3') !== FAKE_ACCOUNT.buvid) return json({ code: -352, message: '-352', data: {} });
        return json({ code: 0, data: { token: FAKE_ACCOUNT.token, host_list: [{ host: '127.0.0.1', port, ws_port: port, wss_port: 443 }] } });
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  const wss = new WebSocketServer({ server, path: '/sub' });
  wss.on('connection', (ws) => {
    connections++;
    ws.on('close', () => {
      authenticatedSockets.delete(ws);
      if (wss.clients.size === 0) events.emit('idle');
    });
    ws.on('message', (data: Buffer) => {
      const operation = data.readUInt32BE(8);
      const body = data.subarray(16, data.readUInt32BE(0));
      if (operation === OP.auth) {
        auths.push(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
        authenticatedSockets.add(ws);
        ws.send(packet(OP.authReply, 1, JSON.stringify(options.authReply ?? { code: 0 })));
        events.emit('auth');
      } else if (operation === OP.heartbeat) {
        heartbeats++;
        const count = Buffer.alloc(4);
        count.writeUInt32BE(options.popularity ?? 1234);
        ws.send(packet(OP.heartbeatReply, 1, count));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const toAll = (frame: Buffer) => {
    for (const ws of authenticatedSockets) ws.send(frame);
  };
  return {
    address: `ws://127.0.0.1:${port}/sub`,
    endpoints: { api: `http://127.0.0.1:${port}`, live: `http://127.0.0.1:${port}`, guestSocket: `ws://127.0.0.1:${port}/sub` },
    requests,
    auths,
    connections: () => connections,
    open: () => wss.clients.size,
    heartbeats: () => heartbeats,
    async authenticated(n) {
      while (auths.length < n) await once(events, 'auth');
    },
    async allClosed() {
      while (wss.clients.size > 0) await once(events, 'idle');
    },
    sendRaw: toAll,
    say: (texts, compression) => toAll(messages([...texts.map((t) => danmuMsg(t)), { cmd: 'INTERACT_WORD', data: { uname: 'someone' } }], compression)),
    dropAll() {
      for (const ws of wss.clients) ws.terminate();
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
