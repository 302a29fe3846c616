/**
 * npm run bench:cycles [-- --cycles 10000]
 *
 * Connect → switch-config → close, N times, against the real server (started in this process on a loopback port
 * with the repository's conf.yaml, so its actors and heap can be inspected). Prints, at start and at end: live
 * session actors, live actors in total, RSS and heap after GC, active handles; and the connect → set-model-and-conf
 * latency of the first and the last 100 cycles.
 *
 * "cold" is measured before any client; "start" after --warmup cycles (default 500), which load lazy code paths
 * and let V8 compile the hot functions — heap that is spent once, not per session. Growth is end − start.
 */
import WebSocket from 'ws';
import { loadAppConfig } from '../src/config/app-config.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer, type RunningServer } from '../src/server/start-server.js';
import { argNumber, collectGarbage, mb, median, ms, percentile } from './bench-utils.js';

interface Figures {
  sessions: number;
  actors: number;
  rss: number;
  heap: number;
  handles: number;
}

async function figures(server: RunningServer): Promise<Figures> {
  await collectGarbage();
  const mem = process.memoryUsage();
  return {
    sessions: server.sessionCount(),
    actors: server.census.count(),
    rss: mem.rss,
    heap: mem.heapUsed,
    handles: process.getActiveResourcesInfo().length,
  };
}

/** One client lifetime; resolves with the connect → set-model-and-conf time. */
function cycle(wsUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let latency = 0;
    const ws = new WebSocket(wsUrl);
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string };
      if (frame.type === 'set-model-and-conf' && latency === 0) {
        latency = performance.now() - started;
        ws.send(JSON.stringify({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' }));
      } else if (frame.type === 'config-switched') ws.close();
      else if (frame.type === 'error') reject(new Error(JSON.stringify(frame)));
    });
    ws.on('close', () => (latency ? resolve(latency) : reject(new Error('closed before set-model-and-conf'))));
  });
}

async function main() {
  const cycles = argNumber('cycles', 10_000);
  const warmup = argNumber('warmup', 500);
  const app = await loadAppConfig();
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
  const cold = await figures(server);
  for (let i = 0; i < warmup; i++) await cycle(server.wsUrl);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const start = await figures(server);
  const latencies: number[] = [];
  const began = performance.now();
  for (let i = 0; i < cycles; i++) {
    latencies.push(await cycle(server.wsUrl));
    if ((i + 1) % 1000 === 0) process.stderr.write(`  ${i + 1}/${cycles}\n`);
  }
  const elapsed = performance.now() - began;
  // let the last sessions' close handshakes finish before measuring
  await new Promise((resolve) => setTimeout(resolve, 200));
  const end = await figures(server);
  await server.stop();

  const first = latencies.slice(0, 100);
  const last = latencies.slice(-100);
  const row = (label: string, f: Figures) =>
    `${label.padEnd(6)} sessions=${f.sessions} actors=${f.actors} rss=${mb(f.rss)} heap=${mb(f.heap)} handles=${f.handles}`;
  console.log(
    `bench:cycles  ${cycles} × connect → switch-config → close after ${warmup} warm-up cycles  (node ${process.version}, ${(elapsed / 1000).toFixed(1)} s)`,
  );
  console.log(row('cold', cold));
  console.log(row('start', start));
  console.log(row('end', end));
  console.log(`heap growth after GC: ${mb(end.heap - start.heap)}   live actors back to baseline: ${end.actors === start.actors}`);
  console.log(`connect → set-model-and-conf  first 100: median ${ms(median(first))} p99 ${ms(percentile(first, 99))}`);
  console.log(`connect → set-model-and-conf  last 100:  median ${ms(median(last))} p99 ${ms(percentile(last, 99))}`);
  console.log(`last-100 / first-100 median ratio: ${(median(last) / median(first)).toFixed(3)}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
