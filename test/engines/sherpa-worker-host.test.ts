import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SherpaWorkerHost, type SherpaModelSpec } from '../../src/engines/sherpa/sherpa-worker-host.js';
import { sharedSherpaHost } from '../../src/engines/sherpa/sherpa-hosts.js';
import { makeFixtureRoot, REPO_ROOT } from '../helpers/fixture-root.js';
import { startTestServer } from '../helpers/test-server.js';
import { until } from '../helpers/ws-client.js';

const FAKE_MODULE = path.join(REPO_ROOT, 'test/fakes/fake-sherpa-module.cjs');

function spec(kind: 'asr' | 'tts', config: Record<string, unknown> = {}, maxQueued = 4): SherpaModelSpec {
  return { kind, provider: `sherpa_onnx_${kind}`, config, files: [], maxQueued, modulePath: FAKE_MODULE };
}

/** A gate the fake model waits on inside the worker: while closed, the job is "running". */
function gate() {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  return { flag, open: () => (Atomics.store(flag, 0, 1), Atomics.notify(flag, 0)) };
}

const hosts: SherpaWorkerHost[] = [];
function host(s: SherpaModelSpec) {
  const h = new SherpaWorkerHost(s);
  hosts.push(h);
  return h;
}
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

describe('sherpa-onnx worker host', () => {
  test('recognition runs on the worker thread: the event loop keeps turning while a decode is in progress', async () => {
    const g = gate();
    const h = host(spec('asr', { gate: g.flag }));
    let done = false;
    const result = h.run({ kind: 'asr', samples: new Float32Array(1600), sampleRate: 16000 }, new AbortController().signal).then((r) => {
      done = true;
      return r;
    });
    // The decode blocks on the gate inside the worker; this thread still serves timers and I/O meanwhile.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    g.open();
    await expect(result).resolves.toEqual({ text: ' heard 1600 samples ' });
  });

  test('synthesis returns the model samples and rate; a decode error is that request failing, the thread goes on', async () => {
    const h = host(spec('tts'));
    const audio = await h.run({ kind: 'tts', text: 'hello', sid: 2, speed: 1 }, new AbortController().signal);
    expect('samples' in audio && audio.samples.length).toBe(50);
    expect('sampleRate' in audio && audio.sampleRate).toBe(22053);
    const asr = host(spec('asr'));
    await expect(asr.run({ kind: 'asr', samples: new Float32Array(13), sampleRate: 16000 }, new AbortController().signal)).rejects.toThrow(
      'sherpa_onnx_asr: cannot decode 13 samples',
    );
    await expect(asr.run({ kind: 'asr', samples: new Float32Array(7), sampleRate: 16000 }, new AbortController().signal)).resolves.toEqual({
      text: ' heard 7 samples ',
    });
  });

  test("an aborted request fails at once; a queued one is never run, a running one's result is dropped", async () => {
    const g = gate();
    const h = host(spec('asr', { gate: g.flag }));
    const running = new AbortController();
    const queued = new AbortController();
    const first = h.run({ kind: 'asr', samples: new Float32Array(1), sampleRate: 16000 }, running.signal);
    const second = h.run({ kind: 'asr', samples: new Float32Array(2), sampleRate: 16000 }, queued.signal);
    const third = h.run({ kind: 'asr', samples: new Float32Array(3), sampleRate: 16000 }, new AbortController().signal);
    running.abort(new Error('turn stopped'));
    queued.abort(new Error('turn stopped'));
    await expect(first).rejects.toThrow('turn stopped');
    await expect(second).rejects.toThrow('turn stopped');
    g.open();
    await expect(third).resolves.toEqual({ text: ' heard 3 samples ' });
  });

  test('the queue is bounded: past max_queued a request is refused with a clear error', async () => {
    const g = gate();
    const h = host(spec('asr', { gate: g.flag }, 2));
    const signal = new AbortController().signal;
    const a = h.run({ kind: 'asr', samples: new Float32Array(1), sampleRate: 16000 }, signal);
    const b = h.run({ kind: 'asr', samples: new Float32Array(2), sampleRate: 16000 }, signal);
    await expect(h.run({ kind: 'asr', samples: new Float32Array(3), sampleRate: 16000 }, signal)).rejects.toThrow(
      'sherpa_onnx_asr is busy (2 requests waiting); try again',
    );
    g.open();
    await expect(Promise.all([a, b])).resolves.toHaveLength(2);
  });

  test('a model that fails to load, or that aborts the process loading it, is a clear error and the server lives on', async () => {
    const failing = host(spec('asr', { fail: 'Please check your config!' }));
    await expect(failing.run({ kind: 'asr', samples: new Float32Array(1), sampleRate: 16000 }, new AbortController().signal)).rejects.toThrow(
      'sherpa_onnx_asr: the model failed to load: Please check your config!',
    );
    const crashing = host(spec('tts', { crash: true }));
    await expect(crashing.run({ kind: 'tts', text: 'hi', sid: 0, speed: 1 }, new AbortController().signal)).rejects.toThrow(
      /^sherpa_onnx_tts: the model failed to load: .*\(loading it aborted the process\)$/,
    );
  });

  test('a failed load is not retried on the same files (a sentence each would cost a load); changed files are tried again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-host-retry-'));
    try {
      const model = path.join(dir, 'model.onnx');
      writeFileSync(model, 'broken');
      const countFile = path.join(dir, 'loads');
      const h = host({ ...spec('tts', { fail: 'Protobuf parsing failed', countFile }), files: [{ key: 'vits_model', file: model }] });
      const speak = () => h.run({ kind: 'tts', text: 'hi', sid: 0, speed: 1 }, new AbortController().signal);
      await expect(speak()).rejects.toThrow('sherpa_onnx_tts: the model failed to load: Protobuf parsing failed');
      await expect(speak()).rejects.toThrow('sherpa_onnx_tts: the model failed to load: Protobuf parsing failed');
      expect(readFileSync(countFile, 'utf8')).toBe('x');
      writeFileSync(model, 'replaced by the user');
      await expect(speak()).rejects.toThrow('the model failed to load');
      expect(readFileSync(countFile, 'utf8')).toBe('xx');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the worker thread does not keep the process alive: a script that never closes its host still exits', async () => {
    const script = `
      import { SherpaWorkerHost } from ${JSON.stringify(path.join(REPO_ROOT, 'src/engines/sherpa/sherpa-worker-host.ts'))};
      const host = new SherpaWorkerHost({ kind: 'asr', provider: 'sherpa_onnx_asr', config: {}, files: [], maxQueued: 1, modulePath: ${JSON.stringify(FAKE_MODULE)} });
      const r = await host.run({ kind: 'asr', samples: new Float32Array(5), sampleRate: 16000 }, new AbortController().signal);
      console.log(JSON.stringify(r));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A regression would hang the child: a stall guard ends it, so the test fails instead of leaving it behind.
    const stall = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(stall);
    expect({ code, out: out.trim(), err }).toEqual({ code: 0, out: '{"text":" heard 5 samples "}', err: '' });
  }, 30_000);
});

describe('sherpa-onnx worker host while its model downloads', () => {
  test('a request during the download is answered at once with how far it is; close() ends the download, leaving nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-host-dl-'));
    mkdirSync(path.join(dir, 'src', 'm1'), { recursive: true });
    writeFileSync(path.join(dir, 'src', 'm1', 'model.onnx'), Buffer.alloc(200_000, 1));
    execFileSync('tar', ['-cjf', path.join(dir, 'm1.tar.bz2'), '-C', path.join(dir, 'src'), 'm1']);
    const archive = readFileSync(path.join(dir, 'm1.tar.bz2'));
    const server = http.createServer((req, res) => {
      if (!req.url!.endsWith('.tar.bz2')) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, archive.length >> 1)); // and then nothing more: a slow link
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/asr-models/m1.tar.bz2`;
    const folder = path.join(dir, 'models', 'm1');
    try {
      const h = host({ ...spec('asr'), download: { folder, url }, files: [{ key: 'sense_voice', file: path.join(folder, 'model.onnx') }] });
      const firstBytes = new Promise<void>((resolve) => h.prepare({ info: () => resolve(), warn: () => {} }));
      await firstBytes; // the progress log's first line: bytes are flowing
      await expect(h.run({ kind: 'asr', samples: new Float32Array(1), sampleRate: 16000 }, new AbortController().signal)).rejects.toThrow(
        new RegExp(`^sherpa_onnx_asr: its model is still being downloaded into ${folder} \\(\\d+% of 0\\.\\d MB\\); try again when it is done$`),
      );
      await h.close();
      expect(existsSync(folder)).toBe(false);
      await until('the temporary folder is removed', () => readdirSync(path.join(dir, 'models')).length === 0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sherpa-onnx threads and the server', () => {
  const threads = () => readdirSync('/proc/self/task').length;

  test("a server's stop ends every sherpa-onnx thread (its OS thread is gone from /proc)", async () => {
    const fixture = makeFixtureRoot();
    try {
      // Warm up once, so thread pools that start lazily are already there when the baseline is taken.
      const warm = sharedSherpaHost('warm', spec('asr'));
      await warm.run({ kind: 'asr', samples: new Float32Array(1), sampleRate: 16000 }, new AbortController().signal);
      await warm.close();
      const server = await startTestServer(fixture.root);
      const baseline = threads();
      const shared = sharedSherpaHost('shared', spec('tts'));
      await shared.run({ kind: 'tts', text: 'hi', sid: 0, speed: 1 }, new AbortController().signal);
      expect(threads()).toBe(baseline + 1);
      await server.stop();
      expect(threads()).toBe(baseline);
      // A request after that starts a fresh host rather than failing forever.
      const again = sharedSherpaHost('shared', spec('tts'));
      expect(again).not.toBe(shared);
      await again.close();
    } finally {
      fixture.cleanup();
    }
  });
});
