/**
 * npm run bench:proxy [-- --viewers 50 --messages 200]
 *
 * `/proxy-ws` under a chat flood: the real server (this process, loopback, enable_proxy) with the fake LLM and TTS of
 * the tests in a second process (FAKE_TOKEN_DELAY_MS per token, FAKE_TTS_DELAY_MS per sentence; the reply names the
 * message it answers). N viewers connect; together they send M text-inputs at once (round-robin over the viewers),
 * which the hub queues and releases one at a time. One viewer reports playback finished as soon as the server says
 * synthesis is complete (a client that does not play the audio), so the figures are the server's pace, not a live
 * stream's. Prints queued messages answered per second, and per message the end-to-end latency from its send to the
 * first audio of its answer and to the end of that answer (conversation-chain-end), median and p99.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadAppConfig } from '../src/config/app-config.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';

interface Viewer {
  ws: WebSocket;
  ready: Promise<void>;
}

function connect(url: string, onFrame: (frame: { type: string; text?: string; display_text?: { text: string } }) => void): Viewer {
  const ws = new WebSocket(url);
  const ready = new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; text?: string };
      if (frame.type === 'control' && frame.text === 'start-mic') resolve();
      onFrame(frame);
    });
  });
  return { ws, ready };
}

async function main() {
  const viewerCount = argNumber('viewers', 50);
  const messages = argNumber('messages', 200);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  const execArgv = ext === '.ts' ? ['--import', 'tsx'] : [];
  const fake = spawn(process.execPath, [...execArgv, path.join(here, `fake-ai-process${ext}`)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FAKE_ECHO: '1' },
  });
  const baseUrl = await new Promise<string>((resolve) => fake.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-bench-proxy-'));
  for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(f, path.join(root, f), { recursive: true });
  useFakeEngines(root, baseUrl, { 'system_config.enable_proxy': true, 'system_config.tts_concurrency': 3 });
  const app = await loadAppConfig({ root, packageRoot: process.cwd() });
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
  const proxyUrl = server.wsUrl.replace(/client-ws$/, 'proxy-ws');
  console.log(
    `bench:proxy  node ${process.version}; ${viewerCount} viewers, ${messages} text-inputs sent at once; ` +
      `fake LLM ${process.env.FAKE_TOKEN_DELAY_MS ?? 10} ms/token, TTS ${process.env.FAKE_TTS_DELAY_MS ?? 20} ms/sentence (own process)`,
  );

  const sentAt = new Map<string, number>();
  const firstAudio = new Map<string, number>();
  const endedAt = new Map<string, number>();
  let answering: string | null = null;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  try {
    // Viewer 0 is the one whose frames are timed and who reports playback.
    const viewers: Viewer[] = [];
    const first = connect(proxyUrl, (frame) => {
      const now = performance.now();
      if (frame.type === 'audio') {
        const id = /Answer to (msg-\d+)\./.exec(frame.display_text?.text ?? '')?.[1];
        if (id && !firstAudio.has(id)) {
          firstAudio.set(id, now);
          answering = id;
        }
      } else if (frame.type === 'backend-synth-complete') first.ws.send(JSON.stringify({ type: 'frontend-playback-complete' }));
      else if (frame.type === 'control' && frame.text === 'conversation-chain-end' && answering) {
        endedAt.set(answering, now);
        answering = null;
        if (endedAt.size === messages) done();
      }
    });
    viewers.push(first);
    await first.ready;
    for (let i = 1; i < viewerCount; i++) viewers.push(connect(proxyUrl, () => undefined));
    await Promise.all(viewers.map((v) => v.ready));

    const started = performance.now();
    for (let m = 0; m < messages; m++) {
      const id = `msg-${m}`;
      sentAt.set(id, performance.now());
      viewers[m % viewerCount]!.ws.send(JSON.stringify({ type: 'text-input', text: id, images: [] }));
    }
    await allDone;
    const elapsed = performance.now() - started;
    const toAudio = [...firstAudio].map(([id, at]) => at - sentAt.get(id)!);
    const toEnd = [...endedAt].map(([id, at]) => at - sentAt.get(id)!);
    const perMessage = toEnd.map((t, i) => t - (i > 0 ? toEnd[i - 1]! : 0)).filter((t) => t > 0);
    console.log(`answered ${messages} queued messages in ${(elapsed / 1000).toFixed(2)} s: ${(messages / (elapsed / 1000)).toFixed(2)} per second`);
    console.log(`send → first audio of its answer   median ${ms(median(toAudio))}  p99 ${ms(percentile(toAudio, 99))}`);
    console.log(`send → end of its answer (chain-end) median ${ms(median(toEnd))}  p99 ${ms(percentile(toEnd, 99))}`);
    console.log(`one answer, back to back (chain-end to chain-end) median ${ms(median(perMessage))}`);
    await Promise.all(viewers.map((v) => new Promise<void>((resolve) => (v.ws.once('close', () => resolve()), v.ws.close()))));
  } finally {
    await server.stop();
    fake.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
