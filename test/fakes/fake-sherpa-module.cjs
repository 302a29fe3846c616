// A stand-in for sherpa-onnx-node with its OfflineRecognizer/OfflineTts surface, for tests of the worker host.
// config.fail: the constructor throws with that message. config.crash: the process aborts (like onnxruntime does on
// a corrupt model). config.gate: an Int32Array over a SharedArrayBuffer; decode/generate wait until gate[0] is 1,
// so a test can hold a job "running" for as long as it needs without any timing. config.busyMs (or the environment's FAKE_SHERPA_BUSY_MS): decode/generate
// spend that much CPU (bench/sherpa.ts: a stand-in for a model's compute). config.countFile: each load appends a byte.
class Base {
  constructor(config) {
    this.config = config;
    if (config.countFile) require('node:fs').appendFileSync(config.countFile, 'x');
    if (config.crash) process.abort();
    if (config.fail) throw new Error(config.fail);
    this.sampleRate = 22050;
  }
  hold() {
    if (this.config.gate) Atomics.wait(this.config.gate, 0, 0);
    const busyMs = this.config.busyMs ?? Number(process.env.FAKE_SHERPA_BUSY_MS || 0);
    if (busyMs) {
      const end = performance.now() + busyMs;
      while (performance.now() < end);
    }
  }
}
class OfflineRecognizer extends Base {
  createStream() {
    return { samples: 0, acceptWaveform(w) { this.samples += w.samples.length; } };
  }
  decode(stream) {
    this.hold();
    if (stream.samples === 13) throw new Error('cannot decode 13 samples');
  }
  getResult(stream) {
    return { text: ` heard ${stream.samples} samples ` };
  }
}
class OfflineTts extends Base {
  generate({ text, sid, speed }) {
    this.hold();
    // FAKE_SHERPA_SAMPLES_PER_CHAR: about speech length (1,500 at 22,050 Hz) for benches; 10 by default.
    const samples = new Float32Array(text.length * Number(process.env.FAKE_SHERPA_SAMPLES_PER_CHAR || 10));
    for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i / 3) * 0.5;
    return { samples, sampleRate: 22050 + sid + Math.round(speed) };
  }
}
module.exports = { OfflineRecognizer, OfflineTts };
