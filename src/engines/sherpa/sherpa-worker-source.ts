/**
 * The code of the sherpa-onnx worker thread, run with `new Worker(source, { eval: true })` so that the same text
 * works from dist/ and under jest (which compiles our TypeScript in memory, where a worker file would not exist).
 *
 * workerData: { modulePath, kind: 'asr' | 'tts' | 'vad', config, nice }. Messages in: { type: 'job', id, ... },
 * { type: 'cancel', id } and, for 'vad', { type: 'release', stream }. Messages out: { type: 'ready' } |
 * { type: 'failed', message } | { type: 'result', id, ... } | { type: 'error', id, message }. Jobs are run one at a
 * time; a job cancelled while still queued is never run.
 *
 * 'vad' keeps one Silero detector per stream (a session's audio: its model state is that session's own). A job judges
 * consecutive 512-sample windows, one verdict each (1 speech, 0 not): sherpa-onnx does not expose Silero's
 * probability, only its verdict against the configured threshold, so each window is fed alone and read at once.
 */
export const SHERPA_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
// On Linux a nice value is per thread: this one (and the onnxruntime threads it starts) yields to the event loop.
try { require('node:os').setPriority(workerData.nice); } catch {}
const sherpa = require(workerData.modulePath);
let engine;
const streams = new Map();
function newVad() { return new sherpa.Vad(workerData.config, 2); }
try {
  if (workerData.kind === 'asr') engine = new sherpa.OfflineRecognizer(workerData.config);
  else if (workerData.kind === 'vad') engine = newVad();
  else engine = new sherpa.OfflineTts(workerData.config);
  parentPort.postMessage({ type: 'ready' });
} catch (err) {
  parentPort.postMessage({ type: 'failed', message: String((err && err.message) || err) });
}
const queue = [];
let scheduled = false;
function schedule() {
  if (!scheduled && queue.length > 0) { scheduled = true; setImmediate(drain); }
}
function judge(job) {
  let vad = streams.get(job.stream);
  if (!vad) { vad = newVad(); streams.set(job.stream, vad); }
  const count = Math.floor(job.windows.length / 512);
  const speech = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    vad.acceptWaveform(job.windows.slice(i * 512, (i + 1) * 512));
    speech[i] = vad.isDetected() ? 1 : 0;
    // Its segments are not used: ending them at once keeps its buffer at a few windows.
    vad.flush();
    vad.clear();
  }
  parentPort.postMessage({ type: 'result', id: job.id, speech }, [speech.buffer]);
}
function run(job) {
  if (workerData.kind === 'vad') {
    judge(job);
  } else if (workerData.kind === 'asr') {
    const stream = engine.createStream();
    stream.acceptWaveform({ samples: job.samples, sampleRate: job.sampleRate });
    engine.decode(stream);
    const result = engine.getResult(stream);
    parentPort.postMessage({ type: 'result', id: job.id, text: String(result.text || '') });
  } else {
    const audio = engine.generate({ text: job.text, sid: job.sid, speed: job.speed, enableExternalBuffer: false });
    const samples = Float32Array.from(audio.samples);
    parentPort.postMessage({ type: 'result', id: job.id, samples, sampleRate: audio.sampleRate }, [samples.buffer]);
  }
}
// Messages that arrived while a job ran are handled before the next job starts, so a cancel reaches a queued job.
function drain() {
  scheduled = false;
  const job = queue.shift();
  if (job) {
    try { run(job); } catch (err) { parentPort.postMessage({ type: 'error', id: job.id, message: String((err && err.message) || err) }); }
  }
  schedule();
}
parentPort.on('message', (msg) => {
  if (msg.type === 'release') { streams.delete(msg.stream); return; }
  if (msg.type === 'cancel') {
    const at = queue.findIndex((job) => job.id === msg.id);
    if (at >= 0) queue.splice(at, 1);
    return;
  }
  if (!engine) { parentPort.postMessage({ type: 'error', id: msg.id, message: 'the model is not loaded' }); return; }
  queue.push(msg);
  schedule();
});
`;

/**
 * A throw-away process that only loads the model and exits: onnxruntime aborts the whole process (not just the
 * thread) on a corrupt or truncated .onnx file, so a model is tried here before the server's own thread loads it.
 * argv: modulePath kind configJson.
 */
export const SHERPA_LOAD_PROBE_SOURCE = String.raw`
const [modulePath, kind, configJson] = process.argv.slice(1);
const sherpa = require(modulePath);
const config = JSON.parse(configJson);
try {
  if (kind === 'asr') new sherpa.OfflineRecognizer(config);
  else if (kind === 'vad') new sherpa.Vad(config, 2);
  else new sherpa.OfflineTts(config);
} catch (err) {
  process.stderr.write(String((err && err.message) || err) + '\n');
  process.exit(3);
}
process.exit(0);
`;
