import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeWav } from '../../src/audio/wav.js';
import { toneMp3 } from './fake-edge-server.js';

export { toneMp3 };

/**
 * A stand-in for the HTTP speech, translation and agent services (GPT-SoVITS, Fish Audio, SiliconFlow, CosyVoice's
 * Gradio app, MiniMax, ElevenLabs, Cartesia, Azure, XTTS, DeepLX, Tencent, Letta, Ollama). A test mounts, per
 * route, what that service answers in its real wire format; the server records every request (method, path, query,
 * headers, body) and whether the client closed it before the answer ended.
 */

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** The body parsed as JSON when it is JSON. */
  json: any;
  /** The client closed the connection before the answer was complete. */
  closedEarly: boolean;
  /** Resolves when the connection of this request is closed, however. */
  closed: Promise<void>;
}

export type Handler = (req: SeenRequest, res: http.ServerResponse) => void | Promise<void>;

export interface FakeServices {
  url: string;
  requests: SeenRequest[];
  /** `'POST /v1/tts'`: the handler of that method and path (query string ignored). */
  on(route: string, handler: Handler): void;
  /** Resolves with the next request to arrive on `route` (or the last one, if one came already and none is awaited). */
  nextRequest(route: string): Promise<SeenRequest>;
  close(): Promise<void>;
}

export async function startFakeServices(): Promise<FakeServices> {
  const handlers = new Map<string, Handler>();
  const requests: SeenRequest[] = [];
  const waiting: Array<{ route: string; resolve: (req: SeenRequest) => void }> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    let json: any;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      json = undefined;
    }
    let markClosed!: () => void;
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      raw,
      json,
      closedEarly: false,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    res.on('close', () => {
      if (!res.writableFinished) seen.closedEarly = true;
      markClosed();
    });
    requests.push(seen);
    const route = `${seen.method} ${seen.path}`;
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (waiting[i]!.route === route) waiting.splice(i, 1)[0]!.resolve(seen);
    }
    const handler = handlers.get(route);
    try {
      if (handler) await handler(seen, res);
      else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: `no route ${route}` }));
      }
    } catch (err) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    on: (route, handler) => void handlers.set(route, handler),
    nextRequest: (route) => new Promise((resolve) => waiting.push({ route, resolve })),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A tone as 16-bit PCM samples. */
export function toneSamples(ms: number, sampleRate: number): Int16Array {
  const samples = new Int16Array(Math.max(1, Math.round((ms / 1000) * sampleRate)));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / sampleRate) * 8000 * (0.6 + 0.4 * Math.sin(i / 300)));
  return samples;
}

export const toneWav = (ms: number, sampleRate: number) => encodeWav({ sampleRate, channels: 1, samples: toneSamples(ms, sampleRate) });

/** Raw little-endian 16-bit mono PCM. */
export const tonePcm = (ms: number, sampleRate: number) => Buffer.from(toneSamples(ms, sampleRate).buffer);

/** A WAV of 32-bit float samples (Cartesia's `pcm_f32le` in a `wav` container). */
export function toneWavFloat(ms: number, sampleRate: number): Buffer {
  const samples = toneSamples(ms, sampleRate);
  const out = Buffer.alloc(44 + samples.length * 4);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + samples.length * 4, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(3, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 4, 28);
  out.writeUInt16LE(4, 32);
  out.writeUInt16LE(32, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(samples.length * 4, 40);
  for (let i = 0; i < samples.length; i++) out.writeFloatLE(samples[i]! / 32768, 44 + i * 4);
  return out;
}

/** Sends `bytes` chunked, in a few pieces (as the services stream audio). */
export function sendAudio(res: http.ServerResponse, bytes: Buffer, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType });
  const step = Math.ceil(bytes.length / 3);
  for (let at = 0; at < bytes.length; at += step) res.write(bytes.subarray(at, at + step));
  res.end();
}

/** Declares the whole length, sends part of it, then breaks the connection. */
export function cutAudio(res: http.ServerResponse, bytes: Buffer, contentType: string): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': String(bytes.length) });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy());
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Server-sent events: `data:` lines (strings go as they are, objects as JSON), optionally with event names. */
export function sseEvent(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/** Answers headers and then nothing, until the client goes away. */
export function stall(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.flushHeaders();
}
