import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeWav } from '../../src/audio/wav.js';

/**
 * The project's own stand-in for LLM, TTS and ASR services: a real HTTP server speaking the OpenAI-compatible wire
 * format (chat completions over server-sent events, /audio/speech, /audio/transcriptions) and Anthropic's Messages
 * stream. Tests script the replies and observe requests: their bodies, and when the server saw them closed.
 */

export interface LlmScript {
  /** Tokens streamed one per `delayMs`. */
  tokens: string[];
  delayMs?: number;
  /** Answer with this HTTP status and body instead of a stream. */
  status?: number;
  errorBody?: unknown;
  /** Headers of that error answer (e.g. `retry-after`). */
  errorHeaders?: Record<string, string>;
  /** After the tokens, send an error event in the stream instead of finishing. */
  streamError?: string;
  /** After the tokens, drop the connection (no end of stream): a reset in the middle of the answer. */
  cut?: boolean;
  /** Never finish (the stream stays open until the client closes it). */
  stall?: boolean;
  /** After the tokens, ask for these tool calls (OpenAI `tool_calls` deltas, arguments in pieces; Claude `tool_use`). */
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
}

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  receivedAt: number;
  /** When the client closed the connection before the response ended (an abort), else undefined. */
  abortedAt?: number;
  finished: boolean;
  /**
   * The fake's own clock (performance.now(), ms) for benchmarks: request arrived (its headers parsed), request read
   * (body read and parsed), each streamed token written, response ended.
   */
  timing: { arrived: number; received: number; tokens: number[]; ended?: number };
}

export interface FakeAiServer {
  url: string;
  /** OpenAI-style base URL (`…/v1`). */
  baseUrl: string;
  requests: RecordedRequest[];
  chatRequests(): RecordedRequest[];
  speechRequests(): RecordedRequest[];
  /** Responses still being written (streams or syntheses in progress). */
  openResponses(): number;
  llm: (body: any) => LlmScript;
  /** ms of tone per character of input, and the delay before answering. */
  tts: {
    msPerChar: number;
    delayMs: number;
    failWhen?: (text: string) => boolean;
    /** HTTP status of a scripted failure (default 500). */
    failStatus?: number;
    /** Never answer these (the request stays open until the client goes away). */
    stallWhen?: (text: string) => boolean;
    sampleRate: number;
  };
  /** `stall`: never answer. */
  asr: { text: string; delayMs: number; stall?: boolean; failWhen?: () => boolean; failStatus?: number };
  close(): Promise<void>;
}

/** The last tones made, by length: long tests ask for the same lengths again and again. */
const tones = new Map<string, Buffer>();

function tone(ms: number, sampleRate: number): Buffer {
  const key = `${Math.round(ms)}@${sampleRate}`;
  const known = tones.get(key);
  if (known) return known;
  const made = makeTone(ms, sampleRate);
  if (tones.size >= 16) tones.delete(tones.keys().next().value!);
  tones.set(key, made);
  return made;
}

function makeTone(ms: number, sampleRate: number): Buffer {
  const n = Math.max(1, Math.round((ms / 1000) * sampleRate));
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) samples[i] = Math.round(Math.sin((2 * Math.PI * 220 * i) / sampleRate) * 8000 * (0.5 + 0.5 * Math.sin(i / 500)));
  return encodeWav({ sampleRate, channels: 1, samples });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeAiServer(): Promise<FakeAiServer> {
  const requests: RecordedRequest[] = [];
  let open = 0;
  const fake: Omit<FakeAiServer, 'url' | 'baseUrl' | 'close'> = {
    requests,
    chatRequests: () => requests.filter((r) => r.path.endsWith('/chat/completions') || r.path.endsWith('/messages')),
    speechRequests: () => requests.filter((r) => r.path.endsWith('/audio/speech')),
    openResponses: () => open,
    llm: () => ({ tokens: ['Hello', ' there!'] }),
    tts: { msPerChar: 10, delayMs: 0, sampleRate: 24000 },
    asr: { text: 'hello from the microphone', delayMs: 0 },
  };

  const server = http.createServer(async (req, res) => {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    let body: any = raw;
    if ((req.headers['content-type'] ?? '').includes('json')) body = JSON.parse(raw.toString('utf8'));
    const record: RecordedRequest = {
      path: req.url ?? '',
      headers: req.headers,
      body,
      receivedAt: Date.now(),
      finished: false,
      timing: { arrived, received: performance.now(), tokens: [] },
    };
    requests.push(record);
    open++;
    let ended = false;
    res.on('close', () => {
      open--;
      if (!ended) record.abortedAt = Date.now();
    });
    const end = (data?: string | Buffer) => {
      ended = true;
      record.finished = true;
      res.end(data);
      record.timing.ended = performance.now();
    };
    const closed = () => res.destroyed || record.abortedAt !== undefined;

    try {
      if (req.url?.endsWith('/chat/completions') || req.url?.endsWith('/v1/messages')) {
        const claude = req.url.endsWith('/v1/messages');
        const script = fake.llm(body);
        if (script.status) {
          res.writeHead(script.status, { 'content-type': 'application/json', ...script.errorHeaders });
          return end(JSON.stringify(script.errorBody ?? { error: { message: `scripted failure ${script.status}` } }));
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        if (claude) res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1' } })}\n\n`);
        for (const token of script.tokens) {
          if (script.delayMs) await sleep(script.delayMs);
          if (closed()) return;
          res.write(
            claude
              ? `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: token } })}\n\n`
              : `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: token } }] })}\n\n`,
          );
          record.timing.tokens.push(performance.now());
        }
        for (const [index, call] of (script.toolCalls ?? []).entries()) {
          if (closed()) return;
          const pieces = call.arguments.match(/[\s\S]{1,7}/g) ?? [''];
          if (claude) {
            const block = index + 1;
            res.write(`event: content_block_start\ndata: ${JSON.stringify({ type: 'content_block_start', index: block, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } })}\n\n`);
            for (const piece of pieces) {
              res.write(`event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: block, delta: { type: 'input_json_delta', partial_json: piece } })}\n\n`);
            }
            res.write(`event: content_block_stop\ndata: ${JSON.stringify({ type: 'content_block_stop', index: block })}\n\n`);
          } else {
            const chunk = (delta: unknown) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { tool_calls: [delta] } }] })}\n\n`;
            res.write(chunk({ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }));
            for (const piece of pieces) res.write(chunk({ index, function: { arguments: piece } }));
          }
        }
        if (script.stall) return; // stays open until the client goes away
        if (script.cut) {
          // What was written (the headers at least) reaches the client first, then the connection breaks without an end.
          res.flushHeaders();
          const socket = res.socket;
          setTimeout(() => socket?.destroy(), 20);
          return;
        }
        if (script.streamError) {
          res.write(claude ? `event: error\ndata: ${JSON.stringify({ type: 'error', error: { message: script.streamError } })}\n\n` : `data: ${JSON.stringify({ error: { message: script.streamError } })}\n\n`);
          return end();
        }
        return end(claude ? `event: message_stop\ndata: ${JSON.stringify({ type: 'message_stop' })}\n\n` : 'data: [DONE]\n\n');
      }
      if (req.url?.endsWith('/audio/speech')) {
        const text = String(body.input ?? '');
        if (fake.tts.stallWhen?.(text)) return; // stays open until the client goes away
        if (fake.tts.delayMs) await sleep(fake.tts.delayMs);
        if (closed()) return;
        if (fake.tts.failWhen?.(text)) {
          res.writeHead(fake.tts.failStatus ?? 500, { 'content-type': 'application/json' });
          return end('{"error":"scripted TTS failure"}');
        }
        res.writeHead(200, { 'content-type': 'audio/wav' });
        return end(tone(text.length * fake.tts.msPerChar, fake.tts.sampleRate));
      }
      if (req.url?.endsWith('/audio/transcriptions')) {
        if (fake.asr.stall) return;
        if (fake.asr.failWhen?.()) {
          res.writeHead(fake.asr.failStatus ?? 500, { 'content-type': 'application/json' });
          return end('{"error":"scripted ASR failure"}');
        }
        if (fake.asr.delayMs) await sleep(fake.asr.delayMs);
        if (closed()) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        return end(JSON.stringify({ text: fake.asr.text }));
      }
      res.writeHead(404);
      end();
    } catch (err) {
      if (!res.headersSent) res.writeHead(500);
      end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    url,
    baseUrl: `${url}/v1`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as FakeAiServer;
}

/** The assistant's sentences as a token stream: words with their trailing spaces. */
export function tokens(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}
