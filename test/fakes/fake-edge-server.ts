import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mp3Encoder } from '@breezystack/lamejs';
import { WebSocketServer } from 'ws';
import { EDGE_TRUSTED_CLIENT_TOKEN, secMsGec } from '../../src/engines/tts/edge-tts.js';

/** An MP3 of a tone, `ms` long, 24 kHz mono 48 kbit/s: the format Edge's voices come in. */
export function toneMp3(ms: number): Buffer {
  const rate = 24000;
  const pcm = new Int16Array(Math.round((rate * ms) / 1000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(Math.sin((2 * Math.PI * 330 * i) / rate) * 9000);
  const encoder = new Mp3Encoder(1, rate, 48);
  const parts: Buffer[] = [];
  for (let i = 0; i < pcm.length; i += 1152) parts.push(Buffer.from(encoder.encodeBuffer(pcm.subarray(i, i + 1152))));
  parts.push(Buffer.from(encoder.flush()));
  return Buffer.concat(parts);
}

export interface EdgeRequest {
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  messages: string[];
}

/**
 * A stand-in for Edge's read-aloud endpoint, speaking its WebSocket protocol: it checks the token parameters,
 * takes `speech.config` and `ssml`, answers `turn.start`, the MP3 in binary `Path:audio` messages, `turn.end`.
 */
export async function startFakeEdgeServer(options: { msPerChar?: number; stallAfterConfig?: boolean } = {}) {
  const requests: EdgeRequest[] = [];
  let open = 0;
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    open++;
    ws.on('close', () => open--);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const record: EdgeRequest = { query, headers: req.headers, messages: [] };
    requests.push(record);
    if (query.get('TrustedClientToken') !== EDGE_TRUSTED_CLIENT_TOKEN || query.get('Sec-MS-GEC') !== secMsGec()) {
      ws.close(1008, 'bad token');
      return;
    }
    ws.on('message', (data) => {
      const text = String(data);
      record.messages.push(text);
      if (!text.includes('Path:ssml') || options.stallAfterConfig) return;
      const requestId = /X-RequestId:(\w+)/.exec(text)?.[1] ?? '';
      const spoken = /<prosody[^>]*>([\s\S]*)<\/prosody>/.exec(text)?.[1] ?? '';
      const mp3 = toneMp3(Math.max(100, spoken.length * (options.msPerChar ?? 40)));
      const header = Buffer.from(`X-RequestId:${requestId}\r\nContent-Type:audio/mpeg\r\nX-StreamId:1\r\nPath:audio\r\n`);
      const lengthPrefix = Buffer.alloc(2);
      lengthPrefix.writeUInt16BE(header.length);
      ws.send(`X-RequestId:${requestId}\r\nContent-Type:application/json; charset=utf-8\r\nPath:turn.start\r\n\r\n{}`);
      const half = Math.floor(mp3.length / 2);
      for (const part of [mp3.subarray(0, half), mp3.subarray(half)]) ws.send(Buffer.concat([lengthPrefix, header, part]), { binary: true });
      ws.send(`X-RequestId:${requestId}\r\nContent-Type:application/json; charset=utf-8\r\nPath:turn.end\r\n\r\n{}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `ws://127.0.0.1:${port}/consumer/speech/synthesize/readaloud/edge/v1`,
    requests,
    openConnections: () => open,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
