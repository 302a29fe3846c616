/**
 * npm run bench:slow-reader [-- --turns 30 --seconds 6]
 *
 * Does a client that stops reading slow the others? The real server (this process, loopback) with the fake LLM and
 * TTS in a second process (16 kHz, 50 ms of audio per character). A timed client does N turns one after the other
 * (text-input → first audio → playback-complete → chain-end) and the time from its send to its first audio is
 * measured: alone; then while another client, its socket paused (it never reads), asks for a long reply (8 sentences
 * of ~10 s audio) every 400 ms (each block beside it lasts at least `--seconds`). Run twice: with the default ws_max_buffered_bytes, and with the bound out of reach
 * (2^30: no backpressure, as before issue 11). Alone and beside alternate in three blocks. Prints medians, p90, the
 * ratio to the run alone, the growth of the process's Buffer memory (where queued socket data lives) and the number
 * of replies whose audio the bound dropped.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadAppConfig } from '../src/config/app-config.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer, type RunningServer } from '../src/server/start-server.js';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { argNumber, collectGarbage, mb, median, ms, percentile } from './bench-utils.js';

type Frame = { type: string; text?: string };

async function open(url: string, onFrame: (frame: Frame) => void = () => undefined): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.type === 'control' && frame.text === 'start-mic') resolve();
      onFrame(frame);
    });
  });
  return ws;
}

/** At least N turns (and for at least `minMs`) of a well-behaved client; the latency of each to its first audio. */
async function timedTurns(url: string, turns: number, minMs = 0): Promise<number[]> {
  let onFrame: (frame: Frame) => void = () => undefined;
  const ws = await open(url, (frame) => onFrame(frame));
  const latencies: number[] = [];
  const until = performance.now() + minMs;
  for (let i = 0; i < turns || performance.now() < until; i++) {
    await new Promise<void>((resolve) => {
      const sent = performance.now();
      let first = 0;
      onFrame = (frame) => {
        if (frame.type === 'audio' && !first) latencies.push((first = performance.now()) - sent);
        if (frame.type === 'backend-synth-complete') ws.send('{"type":"frontend-playback-complete"}');
        if (frame.type === 'control' && frame.text === 'conversation-chain-end') resolve();
      };
      ws.send(JSON.stringify({ type: 'text-input', text: 'Hi!', images: [] }));
    });
  }
  ws.close();
  return latencies;
}

async function withServer<T>(baseUrl: string, maxBuffered: number | null, run: (server: RunningServer) => Promise<T>): Promise<T> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-bench-slow-'));
  for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(f, path.join(root, f), { recursive: true });
  useFakeEngines(root, baseUrl, { 'system_config.ws_ping_interval_seconds': 0, ...(maxBuffered ? { 'system_config.ws_max_buffered_bytes': maxBuffered } : {}) });
  const app = await loadAppConfig({ root, packageRoot: process.cwd() });
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
  try {
    return await run(server);
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function main() {
  const turns = argNumber('turns', 30);
  const seconds = argNumber('seconds', 6);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  const fake = spawn(process.execPath, [...(ext === '.ts' ? ['--import', 'tsx'] : []), path.join(here, `fake-ai-process${ext}`)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FAKE_LONG_MARK: 'long story', FAKE_MS_PER_CHAR: '50', FAKE_TOKEN_DELAY_MS: '2', FAKE_TTS_DELAY_MS: '5' },
  });
  const baseUrl = await new Promise<string>((resolve) => fake.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  console.log(`bench:slow-reader  node ${process.version}; ${turns} timed turns per run; fake LLM/TTS in their own process`);
  const line = (label: string, values: number[], alone: number) =>
    console.log(`${label.padEnd(60)} first audio median ${ms(median(values))}  p90 ${ms(percentile(values, 90))}  ratio to alone ${(median(values) / alone).toFixed(2)}`);
  try {
    for (const [label, bound] of [
      ['ws_max_buffered_bytes 4 MiB (default)', null],
      ['no bound (2^30: before issue 11)', 2 ** 30],
    ] as const) {
      await withServer(baseUrl, bound, async (server) => {
        await timedTurns(server.wsUrl, 3); // warm-up
        // Alone and beside the slow reader in alternating blocks, so that the machine's drift hits both alike.
        const alone: number[] = [];
        const beside: number[] = [];
        const block = Math.max(1, Math.round(turns / 3));
        let queuedGrowth = 0;
        for (let round = 0; round < 3; round++) {
          alone.push(...(await timedTurns(server.wsUrl, block)));
          await collectGarbage();
          const external = process.memoryUsage().arrayBuffers;
          const slow = await open(server.wsUrl);
          slow.pause();
          const flood = setInterval(() => slow.send(JSON.stringify({ type: 'text-input', text: 'tell me a long story', images: [] })), 400);
          try {
            beside.push(...(await timedTurns(server.wsUrl, block, seconds * 1000)));
            queuedGrowth = Math.max(queuedGrowth, process.memoryUsage().arrayBuffers - external);
          } finally {
            clearInterval(flood);
            slow.terminate();
          }
        }
        const aloneMedian = median(alone);
        line(`${label}: alone`, alone, aloneMedian);
        line(`${label}: beside a client that does not read`, beside, aloneMedian);
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        const dropped = /vas_backpressure_total\{action="audio_dropped"\} (\d+)/.exec(metrics)?.[1] ?? '0';
        console.log(`${''.padEnd(60)} buffers held at the end of a block (max) +${mb(queuedGrowth)}; replies whose audio was dropped: ${dropped}`);
      });
    }
  } finally {
    fake.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
