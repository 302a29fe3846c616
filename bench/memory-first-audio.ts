/**
 * First audio with long-term memory on and off, for bench/memory.ts: the real server (this process, loopback), the
 * fake LLM and TTS of the tests (answering at once) and one WebSocket client; `turns` sequential turns each way, with
 * `stored` messages in the character's other conversations when memory is on (indexed before the turns start).
 * text-input → first audio frame, as the client sees it: with memory on, the recall (one search) is in it. The client
 * waits THINK_MS after each reply, as a user reads it, so the indexing of the turn just written is not counted.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { waitFor, type AnyActorRef } from 'xstate';
import { MEMORY_SYSTEM_ID } from '../machines/memory.machine.js';
import { loadAppConfig } from '../src/config/app-config.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { startFakeAiServer, tokens } from '../test/fakes/fake-ai-server.js';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { median, percentile } from './bench-utils.js';
import { messagesFor, seeded, smallTalk, vocabulary } from './memory-dialogues.js';

const THINK_MS = 200;

/** text-input → first audio, per turn, over one connection. */
async function turnsOver(url: string, turns: number, random: () => number): Promise<number[]> {
  const ws = new WebSocket(url);
  const frames: Array<{ type: string; text?: string }> = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as { type: string });
    wake?.();
  });
  const until = async (test: (f: { type: string; text?: string }) => boolean) => {
    for (;;) {
      const i = frames.findIndex(test);
      if (i >= 0) return frames.splice(0, i + 1).at(-1)!;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  await new Promise((resolve) => ws.once('open', resolve));
  await until((f) => f.type === 'set-model-and-conf');
  ws.send(JSON.stringify({ type: 'create-new-history' }));
  await until((f) => f.type === 'new-history-created');
  const latencies: number[] = [];
  for (let i = 0; i < turns; i++) {
    const text = smallTalk(random, 1)[0]!.content;
    const sent = performance.now();
    ws.send(JSON.stringify({ type: 'text-input', text, images: [] }));
    await until((f) => f.type === 'audio');
    latencies.push(performance.now() - sent);
    await until((f) => f.type === 'backend-synth-complete');
    ws.send(JSON.stringify({ type: 'frontend-playback-complete' }));
    await until((f) => f.type === 'control' && f.text === 'conversation-chain-end');
    // A user reads the reply before the next message (and the turn just written is indexed meanwhile).
    await new Promise((resolve) => setTimeout(resolve, THINK_MS));
  }
  ws.close();
  return latencies;
}

export async function firstAudio(turns: number, stored: number): Promise<string> {
  const fake = await startFakeAiServer();
  fake.llm = () => ({ tokens: tokens('Sure. That sounds nice.') });
  const results: Record<string, number[]> = {};
  try {
    for (const enabled of [false, true, false, true]) {
      const root = mkdtempSync(path.join(os.tmpdir(), 'bench-memory-audio-'));
      for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(f, path.join(root, f), { recursive: true });
      useFakeEngines(root, fake.baseUrl, { 'system_config.memory': { enabled }, 'system_config.first_start_downloads': false });
      const app = await loadAppConfig({ root, packageRoot: process.cwd() });
      const dir = path.join(root, 'chat_history', app.baseCharacter.config.conf_uid);
      mkdirSync(dir, { recursive: true });
      const random = seeded(stored);
      const word = vocabulary(random, 20_000);
      for (let f = 0; f * 200 < stored; f++) {
        const entries = [{ role: 'metadata', timestamp: '2026-01-01T08:00:00' }, ...messagesFor(random, word, 200).map((m) => ({ ...m, timestamp: '2026-01-01T08:00:00' }))];
        writeFileSync(path.join(dir, `old_${f}.json`), JSON.stringify(entries));
      }
      const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ level: 'error' }) });
      try {
        if (enabled) await waitFor(server.actor.system.get(MEMORY_SYSTEM_ID) as AnyActorRef, (s) => s.matches('idle') && s.context.queue.length === 0, { timeout: 600_000 });
        const latencies = await turnsOver(server.wsUrl, turns, random);
        (results[enabled ? 'on' : 'off'] ??= []).push(...latencies.slice(10));
      } finally {
        await server.stop();
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    await fake.close();
  }
  const line = (label: string, values: number[]) => `${label} median ${median(values).toFixed(2)} ms  p99 ${percentile(values, 99).toFixed(2)} ms`;
  return [
    `first audio (fake engines answering at once, ${2 * (turns - 10)} turns each way, ${stored} messages stored):`,
    `  ${line('memory off:', results.off!)}`,
    `  ${line('memory on: ', results.on!)}   difference of medians ${(median(results.on!) - median(results.off!)).toFixed(2)} ms`,
  ].join('\n');
}
