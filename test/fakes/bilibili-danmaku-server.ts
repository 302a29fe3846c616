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
 */

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
  /** The WebSocket URL (the client's `address`). */
  address: string;
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

export async function startFakeDanmakuServer(options: { authReply?: Record<string, unknown>; popularity?: number } = {}): Promise<FakeDanmakuServer> {
  const auths: Array<Record<string, unknown>> = [];
  const authenticatedSockets = new Set<WebSocket>();
  const events = new EventEmitter();
  let connections = 0;
  let heartbeats = 0;
  const server = http.createServer();
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
  const port = (server.address() as AddressInfo).port;
  const toAll = (frame: Buffer) => {
    for (const ws of authenticatedSockets) ws.send(frame);
  };
  return {
    address: `ws://127.0.0.1:${port}/sub`,
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
