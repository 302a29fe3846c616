/**
 * npm run bench:local [-- --turns 10]
 *
 * The local companion on this machine: llama_cpp_llm (LLAMA_MODEL_PATH, else a tiny random GGUF written here) and a
 * local voice, run by the real server in this process with the threads it picks itself (src/engines/cpu-shares.ts).
 * The voice: SHERPA_TTS_MODEL_DIR (a sherpa-onnx VITS/Piper folder); else the shipped voice's path (sherpa_onnx_tts
 * on its worker thread) with a stand-in library that spends --synth ms of CPU per sentence (test/fakes); or, with
 * --espeak, espeak-ng (a program started per sentence). A client in this process talks; a second
 * session sends a heartbeat every 10 ms throughout and times each answer: the delay another user would see.
 *
 * Per turn (median over --turns, after one warm-up turn that loads the model):
 *   first audio       text-input sent → first audio frame received
 *   LLM → sentence 1  text-input sent → the first sentence handed to the voice (its synthesize actor starts)
 *   synthesis 1       that synthesis, start → done
 *   first audio − (LLM → sentence 1 + synthesis 1): what the server adds on the path (target ≤ 5 ms)
 *   tokens/s          the model's text chunks (one per token) per second of its stream, alone (the same character
 *                     with silent_tts) and while the voice speaks (target: with speech ≥ 80 % of alone)
 *   CPU per turn      this process (server, client, speech worker) and the model process, from /proc
 *   other session     heartbeat → heartbeat-ack p50 / p99 during the turns (target p99 ≤ 10 ms)
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InspectionEvent } from 'xstate';
import WebSocket from 'ws';
import { loadAppConfig } from '../src/config/app-config.js';
import { cpuShares } from '../src/engines/cpu-shares.js';
import { createLogger } from '../src/observability/logger.js';
import { startServer } from '../src/server/start-server.js';
import { editConf } from '../test/helpers/engine-config.js';
import { childPids } from '../test/helpers/process-probes.js';
import { writeTinyGguf } from '../test/helpers/tiny-gguf.js';
import { argNumber, median, percentile } from './bench-utils.js';

const TURNS = argNumber('turns', 10);
const MAX_TOKENS = argNumber('tokens', 120);
const SYNTH_MS = argNumber('synth', 60);
const ESPEAK = process.argv.includes('--espeak');
const REPO = process.cwd();

type Frame = { type: string; [k: string]: unknown };

/** A socket that keeps every frame and wakes whoever waits for one of a type. */
async function connect(url: string) {
  const ws = new WebSocket(url, { headers: { origin: 'http://127.0.0.1' } });
  const frames: Array<{ frame: Frame; at: number }> = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    frames.push({ frame: JSON.parse(String(data)) as Frame, at: performance.now() });
    wake?.();
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const next = async (type: string, from: number, ms = 120_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = frames.slice(from).find((f) => f.frame.type === type);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${ms} ms`);
      await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 1000)));
    }
  };
  await next('set-model-and-conf', 0, 10_000);
  return { ws, frames, next, send: (frame: unknown) => ws.send(JSON.stringify(frame)) };
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
const modelProcesses = () => childPids().filter((pid) => existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('model-process.mjs'));

interface TurnTimes {
  firstAudio: number;
  toSentence: number;
  synthesis: number;
  tokensPerSecond: number;
}

async function main() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-bench-local-'));
  const modelFile = process.env.LLAMA_MODEL_PATH ?? path.join(root, 'tiny.gguf');
  if (!process.env.LLAMA_MODEL_PATH) await writeTinyGguf(modelFile, { seed: 7, contextLength: 2048 });
  const voiceDir = process.env.SHERPA_TTS_MODEL_DIR;
  const voiceOnnx = voiceDir ? readdirSync(voiceDir).find((f) => f.endsWith('.onnx')) : undefined;
  const shares = cpuShares();
  const standIn = !(voiceDir && voiceOnnx) && !ESPEAK;
  if (standIn) {
    // The stand-in library in the same worker thread the real one runs in: CPU per sentence, speech-long audio.
    process.env.VAS_SHERPA_ONNX_MODULE = path.join(REPO, 'test/fakes/fake-sherpa-module.cjs');
    process.env.FAKE_SHERPA_BUSY_MS = String(SYNTH_MS);
    process.env.FAKE_SHERPA_SAMPLES_PER_CHAR = '1500';
    mkdirSync(path.join(root, 'voice'));
    for (const f of ['voice.onnx', 'tokens.txt']) writeFileSync(path.join(root, 'voice', f), 'stand-in');
  }
  const tts = voiceDir && voiceOnnx
    ? { model: 'sherpa_onnx_tts', label: `sherpa_onnx_tts ${path.basename(voiceDir)}, ${shares.speech} thread(s)`, block: { vits_model: path.join(voiceDir, voiceOnnx), vits_tokens: path.join(voiceDir, 'tokens.txt'), vits_data_dir: path.join(voiceDir, 'espeak-ng-data'), sid: 0, num_threads: shares.speech } }
    : standIn
      ? { model: 'sherpa_onnx_tts', label: `sherpa_onnx_tts's worker thread with a stand-in library spending ${SYNTH_MS} ms of CPU per sentence (no SHERPA_TTS_MODEL_DIR)`, block: { vits_model: path.join(root, 'voice/voice.onnx'), vits_tokens: path.join(root, 'voice/tokens.txt'), sid: 0, num_threads: 1 } }
      : { model: 'espeak_tts', label: 'espeak_tts (espeak-ng, started per sentence)', block: { voice: 'en-us+f3', speed: 165 } };
  for (const f of ['conf.yaml', 'model_dict.json']) cpSync(path.join(REPO, f), path.join(root, f));
  const llm = { model_path: modelFile, context_size: 2048, threads: 'auto', gpu_layers: 'auto', parallel: 2, keep_alive: -1, max_tokens: MAX_TOKENS, temperature: 0.7 };
  editConf(root, {
    'character_config.live2d_model_name': 'mao_pro',
    'character_config.agent_config.agent_settings.basic_memory_agent.llm_provider': 'llama_cpp_llm',
    'character_config.agent_config.llm_configs.llama_cpp_llm': llm,
    'character_config.tts_config.tts_model': tts.model,
    [`character_config.tts_config.${tts.model}`]: tts.block,
    'system_config.first_start_downloads': false,
  });
  mkdirSync(path.join(root, 'characters'), { recursive: true });
  writeFileSync(path.join(root, 'characters', 'alone.yaml'), "character_config:\n  conf_name: 'alone'\n  conf_uid: 'alone'\n  tts_config:\n    tts_model: 'silent_tts'\n");

  const marks: Array<{ kind: string; at: number; status?: string }> = [];
  const sources = new Map<string, string>();
  const inspect = (ev: InspectionEvent) => {
    if (ev.type === '@xstate.actor') {
      const src = (ev.actorRef as { src?: unknown }).src;
      if (src === 'synthesize' || src === 'llmStream') {
        sources.set(ev.actorRef.sessionId, src);
        marks.push({ kind: `${src}.start`, at: performance.now() });
      }
    } else if (ev.type === '@xstate.snapshot' && sources.has(ev.actorRef.sessionId)) {
      const status = (ev.snapshot as { status?: string }).status;
      if (status !== 'active') marks.push({ kind: `${sources.get(ev.actorRef.sessionId)}.end`, at: performance.now(), status });
    } else if (ev.type === '@xstate.event' && (ev.event as { type?: string }).type === 'llm.delta') {
      marks.push({ kind: 'delta', at: performance.now() });
    }
  };
  const app = await loadAppConfig({ root, packageRoot: REPO });
  const server = await startServer({ app, host: '127.0.0.1', port: 0, logger: createLogger({ silent: true }), inspect });
  const talker = await connect(server.wsUrl);
  const other = await connect(server.wsUrl);

  const turn = async (): Promise<TurnTimes> => {
    const from = talker.frames.length;
    marks.length = 0;
    const sent = performance.now();
    talker.send({ type: 'text-input', text: 'Tell me about your day, in a few sentences.', images: [] });
    const done = await talker.next('backend-synth-complete', from);
    talker.send({ type: 'frontend-playback-complete' });
    const ended = talker.frames.length;
    await talker.next('control', ended).catch(() => undefined);
    const audio = talker.frames.slice(from).find((f) => f.frame.type === 'audio' && f.at <= done.at);
    const synthStart = marks.find((m) => m.kind === 'synthesize.start');
    const synthEnd = marks.find((m) => m.kind === 'synthesize.end');
    const deltas = marks.filter((m) => m.kind === 'delta');
    const span = deltas.length > 1 ? (deltas.at(-1)!.at - deltas[0]!.at) / 1000 : NaN;
    return {
      firstAudio: audio ? audio.at - sent : NaN,
      toSentence: synthStart ? synthStart.at - sent : NaN,
      synthesis: synthStart && synthEnd ? synthEnd.at - synthStart.at : NaN,
      tokensPerSecond: (deltas.length - 1) / span,
    };
  };
  const switchTo = async (file: string) => {
    const from = talker.frames.length;
    talker.send({ type: 'switch-config', file });
    await talker.next('config-switched', from, 30_000);
  };

  // The other session's heartbeats, every 10 ms, timed to their acks (kept apart per phase).
  let rtts: number[] = [];
  let beating = true;
  const beat = async () => {
    while (beating) {
      const from = other.frames.length;
      const sent = performance.now();
      other.send({ type: 'heartbeat' });
      const ack = await other.next('heartbeat-ack', from, 10_000);
      rtts.push(ack.at - sent);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  await turn(); // loads the model
  const [modelPid] = modelProcesses();
  await switchTo('alone.yaml');
  const heartbeat = beat();
  const alone: TurnTimes[] = [];
  for (let i = 0; i < TURNS; i++) alone.push(await turn());
  const rttsAlone = rtts;
  await switchTo('conf.yaml');
  rtts = [];
  const cpu0 = process.cpuUsage();
  const model0 = modelPid ? cpuSeconds(modelPid) : 0;
  const spoken: TurnTimes[] = [];
  for (let i = 0; i < TURNS; i++) spoken.push(await turn());
  const cpu = process.cpuUsage(cpu0);
  const modelCpu = modelPid ? cpuSeconds(modelPid) - model0 : NaN;
  beating = false;
  await heartbeat;

  const med = (xs: TurnTimes[], k: keyof TurnTimes) => median(xs.map((x) => x[k]).filter(Number.isFinite));
  const f = (v: number, unit = 'ms') => `${v.toFixed(1)} ${unit}`;
  const overhead = median(spoken.map((t) => t.firstAudio - t.toSentence - t.synthesis).filter(Number.isFinite));
  console.log(`bench:local  ${TURNS} turns after one warm-up; node ${process.version}, ${os.availableParallelism()} cores`);
  console.log(`  model   ${path.basename(modelFile)}${process.env.LLAMA_MODEL_PATH ? '' : ' (tiny random weights, written by the bench)'}; ${shares.llm} llama.cpp thread(s), max_tokens ${MAX_TOKENS}`);
  console.log(`  voice   ${tts.label}`);
  console.log(`  first audio after text-input          ${f(med(spoken, 'firstAudio'))}`);
  console.log(`  LLM time to the first sentence        ${f(med(spoken, 'toSentence'))}`);
  console.log(`  its synthesis                         ${f(med(spoken, 'synthesis'))}`);
  console.log(`  first audio − (sentence + synthesis)  ${f(overhead)}   (target ≤ 5 ms)`);
  const tpsAlone = med(alone, 'tokensPerSecond');
  const tpsSpoken = med(spoken, 'tokensPerSecond');
  console.log(`  tokens/s alone / while synthesising   ${tpsAlone.toFixed(1)} / ${tpsSpoken.toFixed(1)}  (${((tpsSpoken / tpsAlone) * 100).toFixed(0)} %, target ≥ 80 %)`);
  console.log(`  CPU per turn: this process / model    ${f((cpu.user + cpu.system) / 1000 / TURNS)} / ${f((modelCpu * 1000) / TURNS)}`);
  console.log(`  other session's heartbeat p50 / p99   ${f(percentile(rtts, 50))} / ${f(percentile(rtts, 99))}  (${rtts.length} beats; target p99 ≤ 10 ms)`);
  console.log(`    the same while the model writes alone ${f(percentile(rttsAlone, 50))} / ${f(percentile(rttsAlone, 99))}  (${rttsAlone.length} beats)`);

  talker.ws.close();
  other.ws.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
