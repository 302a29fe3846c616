/**
 * npm run bench:pageopen-floor [-- --opens 300]
 *
 * The floor under bench:pageopen's first audio on the machine it runs on. The same page-open client and fake engines
 * (bench/pageopen-workload.ts) talk to a bare server in this process that does only the hops a page open needs and
 * nothing of this project: ws, undici's `request` on a keep-alive agent, eventsource-parser, a regular expression
 * for sentence ends, the WAV read and written again with its 20 ms volumes (src/audio/wav.ts), base64, one
 * `ws.send` per sentence in order. No actors, no validation, no deadlines or aborts, no history, no memory.
 *
 * What first audio minus engine time is here is what the processes, the loopback connections and Node cost on this
 * machine; what bench:pageopen measures beyond it is the server's own.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser } from 'eventsource-parser';
import { Agent, request } from 'undici';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeWav, encodeWav, sliceVolumes } from '../src/audio/wav.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';
import { engineMs, overheads, startPageOpenProcesses } from './pageopen-workload.js';

const WINDOW = 100;
const agent = new Agent();
const HISTORIES = JSON.stringify({
  type: 'history-list',
  histories: Array.from({ length: 1000 }, (_, i) => ({
    uid: `2025-01-01_00-00-00_${String(i).padStart(32, '0')}`,
    latest_message: { role: 'ai', timestamp: '2025-01-01T00:00:00', content: 'sure, it is sunny today. we could go for a walk.' },
    timestamp: '2025-01-01T00:00:00',
  })),
});
const CANNED: Record<string, string> = {
  'fetch-backgrounds': JSON.stringify({ type: 'background-files', files: ['ceiling-window-room-night.jpeg'] }),
  'fetch-configs': JSON.stringify({ type: 'config-files', configs: [{ filename: 'mao.yaml', name: 'Mao' }] }),
  'fetch-history-list': HISTORIES,
  'create-new-history': JSON.stringify({ type: 'new-history-created', history_uid: '2025-01-01_00-00-00_new' }),
};

async function post(url: string, body: unknown) {
  return request(url, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function speak(baseUrl: string, sentence: string): Promise<string> {
  const res = await post(`${baseUrl}/audio/speech`, { model: 'tts-1', voice: 'alloy', input: sentence, response_format: 'wav' });
  const audio = decodeWav(Buffer.from(await res.body.arrayBuffer()));
  return JSON.stringify({
    type: 'audio',
    audio: encodeWav(audio).toString('base64'),
    volumes: sliceVolumes(audio, 20),
    slice_length: 20,
    display_text: { text: sentence, name: 'Mao', avatar: 'mao.png' },
    actions: null,
    forwarded: false,
  });
}

/** One reply: the model's stream cut into sentences, each synthesized at once and sent in order, then the end. */
async function answer(ws: WebSocket, baseUrl: string, text: string): Promise<void> {
  const res = await post(`${baseUrl}/chat/completions`, {
    model: 'fake',
    stream: true,
    messages: [
      { role: 'system', content: 'You are Mao, a cheerful companion.' },
      { role: 'user', content: text },
    ],
  });
  ws.send(JSON.stringify({ type: 'control', text: 'conversation-chain-start' }));
  ws.send(JSON.stringify({ type: 'full-text', text: 'Thinking...' }));
  let pending = '';
  let sent: Promise<void> = Promise.resolve();
  const say = (sentence: string) => {
    const frame = speak(baseUrl, sentence);
    sent = sent.then(async () => ws.send(await frame));
  };
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') return;
      pending += (JSON.parse(event.data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '';
      for (let end = /[.!?]\s/.exec(pending); end; end = /[.!?]\s/.exec(pending)) {
        say(pending.slice(0, end.index + 1));
        pending = pending.slice(end.index + 2);
      }
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
  if (pending.trim()) say(pending.trim());
  await sent;
  ws.send(JSON.stringify({ type: 'backend-synth-complete' }));
}

async function main() {
  const opens = Math.max(WINDOW, Math.round(argNumber('opens', 300) / WINDOW) * WINDOW);
  const processes = await startPageOpenProcesses();
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/client-ws' });
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'full-text', text: 'Connection established' }));
    ws.send(JSON.stringify({ type: 'control', text: 'start-mic' }));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; text?: string };
      const canned = CANNED[frame.type];
      if (canned) ws.send(canned);
      else if (frame.type === 'text-input') void answer(ws, processes.baseUrl, frame.text ?? '');
      else if (frame.type === 'frontend-playback-complete') {
        ws.send(JSON.stringify({ type: 'force-new-message' }));
        ws.send(JSON.stringify({ type: 'control', text: 'conversation-chain-end' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/client-ws`;

  console.log(`bench:pageopen-floor  node ${process.version}; ${opens} opens against a bare server (no project code but the WAV helpers); the fakes and the client of bench:pageopen`);
  console.log('window          first audio    engine  audio-engine');
  const all: number[] = [];
  try {
    for (let start = 0; start < opens; start += WINDOW) {
      const samples = await processes.run({ cmd: 'opens', url, count: WINDOW });
      const engines = await processes.engineTimes();
      const beyond = overheads(samples, engines);
      all.push(...beyond);
      if (start === 0 || start + WINDOW >= opens) {
        const timed = samples.filter((s) => engines.has(s.tag));
        console.log(
          `${`opens ${start + 1}–${start + WINDOW}`.padEnd(16)}${ms(median(timed.map((s) => s.firstAudioMs))).padStart(11)}  ` +
            `${ms(median(timed.map((s) => engineMs(engines.get(s.tag)!)))).padStart(8)}  ${ms(median(beyond)).padStart(12)}`,
        );
      }
    }
    console.log(`first audio beyond the engine time, all ${all.length} timed opens: median ${ms(median(all))}, p75 ${ms(percentile(all, 75))}, p90 ${ms(percentile(all, 90))}`);
  } finally {
    processes.stop();
    wss.close();
    server.close();
    await agent.close();
  }
}

await main();
