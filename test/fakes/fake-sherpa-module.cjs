// A stand-in for sherpa-onnx-node with its OfflineRecognizer/OfflineTts surface, for tests of the worker host.
// config.fail: the constructor throws with that message. config.crash: the process aborts (like onnxruntime does on
// a corrupt model). config.gate: an Int32Array over a SharedArrayBuffer; decode/generate wait until gate[0] is 1,
// so a test can hold a job "running" for as long as it needs without any timing. config.busyMs: decode/generate
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
    if (this.config.busyMs) {
      const end = performance.now() + this.config.busyMs;
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
    const samples = new Float32Array(text.length * 10);
    for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i / 3) * 0.5;
    return { samples, sampleRate: 22050 + sid + Math.round(speed) };
  }
}
module.exports = { OfflineRecognizer, OfflineTts };
