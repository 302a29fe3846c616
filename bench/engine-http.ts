/**
 * npm run bench:engine-http [-- --requests 300]
 *
 * The engines' HTTP client (src/engines/engine-http.ts, undici's `request`) against the global `fetch` it replaced,
 * on the two requests that stand between a finished sentence and its first audio frame: a speech synthesis (JSON in,
 * a 3 kB WAV out) and a streamed chat completion (server-sent events). The server is in its own process; both
 * processes read one monotonic clock (process.hrtime), so a time measured across them is comparable.
 *
 * Printed, medians over --requests requests per client, the clients interleaved:
 *   call        time inside the call before it returns (work done before the request can leave)
 *   → server    call → the server has read the whole request
 *   round trip  call → the whole answer read
 *   event       an SSE event written by the server → read by the client
 * once with 1 ms between requests and once with 50 ms (a process that was idle, as the server is between a
 * model's tokens and between turns: this 2-core VM then runs the same code several times slower).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { engineRequest } from '../src/engines/engine-http.js';
import { argNumber, median, ms } from './bench-utils.js';

const now = () => Number(process.hrtime.bigint()) / 1e6;
type Timed = { call: number; toServer: number; roundTrip: number };
type ServerNote = { read: number } | { events: number[] };

function serve() {
  const wav = Buffer.alloc(3244, 1);
  const server = http.createServer(async (req, res) => {
    for await (const _ of req);
    const read = now();
    if (req.url === '/audio/speech') {
      process.send!({ read } satisfies ServerNote);
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.end(wav);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const events: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      res.write(`data: {"choices":[{"delta":{"content":"word "}}]}\n\n`);
      events.push(now());
    }
    res.end('data: [DONE]\n\n');
    process.send!({ events } satisfies ServerNote);
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

interface Client {
  name: string;
  speech(url: string, body: string): Promise<void>;
  /** Reads the stream, returning when each chunk arrived. */
  stream(url: string): Promise<number[]>;
}

const headers = { 'content-type': 'application/json' };
const clients: Client[] = [
  {
    name: 'fetch',
    async speech(url, body) {
      const res = await fetch(url, { method: 'POST', headers, body, signal: new AbortController().signal });
      await res.arrayBuffer();
    },
    async stream(url) {
      const res = await fetch(url, { method: 'POST', headers, body: '{}', signal: new AbortController().signal });
      const arrived: number[] = [];
      for await (const _ of res.body as unknown as AsyncIterable<Uint8Array>) arrived.push(now());
      return arrived;
    },
  },
  {
    name: 'engineRequest (undici)',
    async speech(url, body) {
      const res = await engineRequest(url, { method: 'POST', headers, body, signal: new AbortController().signal });
      await res.arrayBuffer();
    },
    async stream(url) {
      const res = await engineRequest(url, { method: 'POST', headers, body: '{}', signal: new AbortController().signal });
      const arrived: number[] = [];
      for await (const _ of res.body) arrived.push(now());
      return arrived;
    },
  },
];

async function main() {
  const requests = argNumber('requests', 300);
  const child = fork(process.argv[1]!, ['serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
  const notes: ServerNote[] = [];
  child.on('message', (note) => notes.push(note as ServerNote));
  const nextNote = async () => {
    while (notes.length === 0) await new Promise((resolve) => setImmediate(resolve));
    return notes.shift()!;
  };
  const base = `http://127.0.0.1:${port}`;
  const body = JSON.stringify({ model: 'kokoro', voice: 'af_sky', input: 'sure it is sunny today.', response_format: 'wav' });
  console.log(`bench:engine-http  node ${process.version}; ${requests} requests per client and gap, clients interleaved; server in its own process`);
  console.log('gap    client                      call  → server  round trip     event');
  for (const gap of [1, 50]) {
    const timed = new Map<string, Timed[]>(clients.map((c) => [c.name, []]));
    const events = new Map<string, number[]>(clients.map((c) => [c.name, []]));
    const count = gap === 1 ? requests : Math.max(20, Math.round(requests / 5));
    for (let i = 0; i < count; i++) {
      for (const client of clients) {
        await new Promise((resolve) => setTimeout(resolve, gap));
        const started = now();
        const pending = client.speech(`${base}/audio/speech`, body);
        const call = now() - started;
        await pending;
        const roundTrip = now() - started;
        const note = await nextNote();
        timed.get(client.name)!.push({ call, toServer: 'read' in note ? note.read - started : NaN, roundTrip });
        await new Promise((resolve) => setTimeout(resolve, gap));
        const arrived = await client.stream(`${base}/chat/completions`);
        const written = await nextNote();
        if ('events' in written) written.events.forEach((at, k) => arrived[k] !== undefined && events.get(client.name)!.push(arrived[k]! - at));
      }
    }
    for (const client of clients) {
      const t = timed.get(client.name)!;
      console.log(
        `${`${gap} ms`.padEnd(7)}${client.name.padEnd(24)}${ms(median(t.map((x) => x.call))).padStart(9)}${ms(median(t.map((x) => x.toServer))).padStart(10)}` +
          `${ms(median(t.map((x) => x.roundTrip))).padStart(12)}${ms(median(events.get(client.name)!)).padStart(10)}`,
      );
    }
  }
  child.kill();
}

if (process.argv[2] === 'serve') serve();
else await main();
