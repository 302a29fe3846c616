/**
 * npm run bench:sherpa [-- --jobs N --busy MS]
 *
 * What a transcription costs the *other* sessions. N recognitions are queued at once (as from N sessions) while a
 * timer ticks every 5 ms on the event loop, the way socket frames and other turns would; the tick's lateness is the
 * delay every other session sees. Two ways of running the same model:
 *   "inline"  decode on the event loop (what a plain `recognizer.decode()` in the server would do);
 *   "worker"  the SherpaWorkerHost: one worker thread per model, jobs queued there.
 * The model is a stand-in that spends --busy ms of CPU per utterance (default 150), unless
 * SHERPA_ONNX_ASR_MODEL_DIR names a SenseVoice release folder (model.int8.onnx + tokens.txt): then the real
 * sherpa-onnx recogniser decodes 5 s of audio per job.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { SherpaWorkerHost, type SherpaModelSpec } from '../src/engines/sherpa/sherpa-worker-host.js';
import { findPackageDir } from '../src/engines/find-package.js';
import { sherpaAsrSpec } from '../src/engines/asr/sherpa-onnx-asr.js';
import { sherpaOnnxAsrSchema } from '../src/config/sherpa-onnx-schema.js';
import { argNumber, median, ms, percentile } from './bench-utils.js';

const JOBS = argNumber('jobs', 12);
const BUSY_MS = argNumber('busy', 150);
const TICK_MS = 5;

interface Model {
  label: string;
  spec: SherpaModelSpec;
  modulePath: string;
  samples: Float32Array;
}

function model(): Model {
  const dir = process.env.SHERPA_ONNX_ASR_MODEL_DIR;
  const samples = new Float32Array(16000 * 5).map((_, i) => Math.sin(i / 7) * 0.2 * Math.sin(i / 4000));
  if (dir) {
    const file = ['model.int8.onnx', 'model.onnx'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
    if (!file) throw new Error(`${dir}: no model.int8.onnx or model.onnx (SHERPA_ONNX_ASR_MODEL_DIR must be a SenseVoice folder)`);
    const spec = sherpaAsrSpec(sherpaOnnxAsrSchema.parse({ model_type: 'sense_voice', sense_voice: file, tokens: path.join(dir, 'tokens.txt'), num_threads: 1 }), '/');
    return { label: `SenseVoice ${path.basename(dir)}, 5 s of audio per job, num_threads 1`, spec: { ...spec, maxQueued: JOBS }, modulePath: findPackageDir('sherpa-onnx-node')!, samples };
  }
  const modulePath = path.resolve('test/fakes/fake-sherpa-module.cjs');
  return {
    label: `stand-in model, ${BUSY_MS} ms of CPU per job`,
    spec: { kind: 'asr', provider: 'sherpa_onnx_asr', config: { busyMs: BUSY_MS }, files: [], maxQueued: JOBS, modulePath },
    modulePath,
    samples,
  };
}

/** Runs `work` while a timer ticks every TICK_MS; returns each tick's lateness and the work's duration. */
async function measure(work: () => Promise<void>): Promise<{ lateness: number[]; totalMs: number }> {
  const lateness: number[] = [];
  let expected = performance.now() + TICK_MS;
  let running = true;
  const tick = () => {
    const now = performance.now();
    lateness.push(Math.max(0, now - expected));
    expected = now + TICK_MS;
    if (running) timer = setTimeout(tick, TICK_MS);
  };
  let timer = setTimeout(tick, TICK_MS);
  const started = performance.now();
  await work();
  const totalMs = performance.now() - started;
  lateness.push(Math.max(0, performance.now() - expected)); // the tick that was due while the work blocked
  running = false;
  clearTimeout(timer);
  return { lateness, totalMs };
}

async function main() {
  const m = model();
  console.log(`bench:sherpa  ${JOBS} recognitions queued at once; ${m.label}; node ${process.version}, ${os.cpus().length} cores`);

  // inline: the same module, loaded and decoding on this thread.
  const sherpa = createRequire(import.meta.url)(m.modulePath) as { OfflineRecognizer: new (c: unknown) => Recognizer };
  interface Recognizer {
    createStream(): { acceptWaveform(w: { samples: Float32Array; sampleRate: number }): void };
    decode(s: unknown): void;
    getResult(s: unknown): { text: string };
  }
  const recognizer = new sherpa.OfflineRecognizer(m.spec.config);
  const inline = await measure(async () => {
    // One job at a time, yielding to the loop between jobs: the kindest an inline decoder can be.
    for (let i = 0; i < JOBS; i++) {
      await new Promise((r) => setTimeout(r, 0));
      const stream = recognizer.createStream();
      stream.acceptWaveform({ samples: m.samples, sampleRate: 16000 });
      recognizer.decode(stream);
      recognizer.getResult(stream);
    }
  });

  const host = new SherpaWorkerHost(m.spec);
  await host.run({ kind: 'asr', samples: m.samples.subarray(0, 1600), sampleRate: 16000 }, new AbortController().signal); // load first
  const worker = await measure(async () => {
    await Promise.all(Array.from({ length: JOBS }, () => host.run({ kind: 'asr', samples: m.samples, sampleRate: 16000 }, new AbortController().signal)));
  });
  await host.close();

  for (const [name, r] of [['inline', inline], ['worker', worker]] as const) {
    console.log(
      `${name.padEnd(7)} event-loop delay seen by other sessions: median ${ms(median(r.lateness)).padStart(10)}  p99 ${ms(percentile(r.lateness, 99)).padStart(10)}  max ${ms(Math.max(...r.lateness)).padStart(10)}   all ${JOBS} jobs done in ${ms(r.totalMs)}`,
    );
  }
  console.log(`ratio inline/worker: max delay ×${(Math.max(...inline.lateness) / Math.max(...worker.lateness)).toFixed(0)}, p99 ×${(percentile(inline.lateness, 99) / Math.max(0.01, percentile(worker.lateness, 99))).toFixed(0)}; total time ×${(inline.totalMs / worker.totalMs).toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
