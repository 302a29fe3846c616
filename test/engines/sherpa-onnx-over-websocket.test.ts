import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tokens } from '../fakes/fake-ai-server.js';
import { editConf } from '../helpers/engine-config.js';
import { SHARED_HINT, SHARED_WEB_CLIENT } from '../helpers/archive-server.js';
import { useFakeEngineServer, type Harness } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/observability/logger.js';

/** A logger whose lines the test can read. */
function recordingLogger(lines: string[]): Logger {
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return winston.createLogger({ level: 'info', format: winston.format.simple(), transports: [new winston.transports.Stream({ stream })] });
}

/**
 * sherpa_onnx_asr through a real socket with the real sherpa-onnx-node library, on model files that cannot work
 * (no real model can be fetched here): what the client is told, and that the session and server go on.
 */

const MODEL = 'sherpa-onnx-test-broken-2024-01-01';

function useSherpaServer(asrBlock: (root: string) => Record<string, unknown>, prepare?: (root: string) => void, logger?: Logger): Harness {
  return useFakeEngineServer({
    start: logger ? { logger } : undefined,
    prepare: (fixture) => {
      prepare?.(fixture.root);
      editConf(fixture.root, { 'character_config.asr_config.asr_model': 'sherpa_onnx_asr', 'character_config.asr_config.sherpa_onnx_asr': asrBlock(fixture.root) });
    },
  });
}

const senseVoiceBlock = (extra: Record<string, unknown> = {}) => ({
  model_type: 'sense_voice',
  sense_voice: `./models/${MODEL}/model.int8.onnx`,
  tokens: `./models/${MODEL}/tokens.txt`,
  num_threads: 1,
  ...extra,
});

function writeBrokenModel(dir: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.int8.onnx'), 'this is not an onnx file');
  writeFileSync(path.join(dir, 'tokens.txt'), '<unk> 0\na 1\n');
}

async function voiceTurn(harness: Harness) {
  const client = await TestClient.connect(harness.server.wsUrl);
  await client.ready();
  client.frames.length = 0;
  client.send({ type: 'mic-audio-data', audio: Array.from({ length: 1600 }, (_, i) => Math.sin(i / 8) * 0.3) });
  client.send({ type: 'mic-audio-end', images: [] });
  // The model is tried in a child process: the first answer may take a moment longer than a reply.
  const error = await client.next('error', 1, 20_000);
  await client.next('control', 2, 5_000); // conversation-chain-end: the turn is over
  return { client, error: error.message as string };
}

async function textStillAnswered(harness: Harness, client: TestClient) {
  harness.fake.llm = () => ({ tokens: tokens('Still here.') });
  client.frames.length = 0;
  client.send({ type: 'text-input', text: 'are you there?', images: [] });
  await client.next('backend-synth-complete', 1, 5_000);
  expect(client.ofType('audio').map((f) => (f.display_text as { text?: string } | undefined)?.text)).toEqual(['Still here.']);
}

describe('a model that fails to load', () => {
  const harness = useSherpaServer(() => senseVoiceBlock(), (root) => writeBrokenModel(path.join(root, 'models', MODEL)));

  test('is one clear error frame per voice turn (onnxruntime aborting does not take the server down); text still works', async () => {
    const first = await voiceTurn(harness);
    expect(first.error).toMatch(
      new RegExp(`^Speech recognition failed: sherpa_onnx_asr: the model failed to load: Load model from .*${MODEL}/model\\.int8\\.onnx failed:Protobuf parsing failed\\. \\(loading it aborted the process\\)$`),
    );
    await textStillAnswered(harness, first.client);
    await first.client.close();
    const second = await voiceTurn(harness);
    expect(second.error).toBe(first.error);
    await second.client.close();
    expect(harness.server.sessionCount()).toBe(0);
  }, 60_000);
});

/** A valid ONNX file that is not a recogniser: the web client's Silero VAD (found beside the clone: docs/testing.md). */
const SILERO = path.join(SHARED_WEB_CLIENT, 'libs/silero_vad_v5.onnx');

(existsSync(SILERO) ? describe : describe.skip)(`a valid ONNX file that is not a sherpa-onnx recogniser${existsSync(SILERO) ? '' : ` [skipped: needs the web client's Silero model: ${SHARED_HINT}]`}`, () => {
  const harness = useSherpaServer(
    () => senseVoiceBlock(),
    (root) => {
      writeBrokenModel(path.join(root, 'models', MODEL));
      writeFileSync(path.join(root, 'models', MODEL, 'model.int8.onnx'), readFileSync(SILERO));
    },
  );

  test("is a clear error with sherpa-onnx's own words (it exits the process that loads it)", async () => {
    const { client, error } = await voiceTurn(harness);
    expect(error).toMatch(/^Speech recognition failed: sherpa_onnx_asr: the model failed to load: .*'vocab_size' does not exist in the metadata$/);
    await client.close();
  }, 30_000);
});

describe('a missing model file (folder present)', () => {
  const harness = useSherpaServer(
    () => senseVoiceBlock({ sense_voice: `./models/${MODEL}/model.onnx` }),
    (root) => writeBrokenModel(path.join(root, 'models', MODEL)),
  );

  test('names the key and the file', async () => {
    const { client, error } = await voiceTurn(harness);
    expect(error).toBe(`Speech recognition failed: sherpa_onnx_asr: sense_voice names ${path.join(harness.fixture.root, 'models', MODEL, 'model.onnx')}, which does not exist`);
    await client.close();
  }, 30_000);
});

describe('a missing model folder, offline', () => {
  let deadUrl = '';
  beforeAll(async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    deadUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const harness = useSherpaServer(() => senseVoiceBlock({ download_base_url: deadUrl }));

  test('is one clear error naming the folder and the URL', async () => {
    const { client, error } = await voiceTurn(harness);
    const folder = path.join(harness.fixture.root, 'models', MODEL);
    expect(error).toBe(
      `Speech recognition failed: model folder ${folder} is missing and could not be downloaded from ${deadUrl}/asr-models/${MODEL}.tar.bz2: ECONNREFUSED (offline? download it yourself and unpack it into ${path.dirname(folder)})`,
    );
    expect(readdirSync(path.dirname(folder))).toEqual([]);
    await client.close();
  }, 30_000);
});

describe('a missing model folder, release reachable', () => {
  const requests: string[] = [];
  let release: http.Server;
  let base = '';
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-release-'));
    writeBrokenModel(path.join(dir, MODEL));
    execFileSync('tar', ['-cjf', path.join(dir, 'a.tar.bz2'), '-C', dir, MODEL]);
    const archive = readFileSync(path.join(dir, 'a.tar.bz2'));
    rmSync(dir, { recursive: true, force: true });
    release = http.createServer((req, res) => {
      requests.push(req.url!);
      if (req.url === `/rel/asr-models/${MODEL}.tar.bz2`) return void res.writeHead(200, { 'content-length': archive.length }).end(archive);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => release.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(release.address() as AddressInfo).port}/rel`;
  });
  afterAll(() => new Promise<void>((resolve) => (release.closeAllConnections(), release.close(() => resolve()))));
  const logLines: string[] = [];
  const harness = useSherpaServer(() => senseVoiceBlock({ download_base_url: base }), undefined, recordingLogger(logLines));

  test('is downloaded at server start from the release archive, into models/, then loaded', async () => {
    const models = path.join(harness.fixture.root, 'models');
    await until('the download at start is in place', () => logLines.some((l) => l.includes(`sherpa_onnx_asr: model unpacked into ${path.join(models, MODEL)}`)));
    expect(logLines.some((l) => l.includes(`downloading ${base}/asr-models/${MODEL}.tar.bz2: `))).toBe(true); // progress
    const { client, error } = await voiceTurn(harness);
    // The archive held a broken model: downloaded and unpacked, then refused by the loader.
    expect(error).toMatch(/^Speech recognition failed: sherpa_onnx_asr: the model failed to load: /);
    expect(requests.filter((r) => r.endsWith('.tar.bz2'))).toEqual([`/rel/asr-models/${MODEL}.tar.bz2`]);
    expect(readdirSync(models)).toEqual([MODEL]);
    expect(existsSync(path.join(models, MODEL, 'tokens.txt'))).toBe(true);
    await client.close();
  }, 30_000);
});

describe('sherpa_onnx_tts with a voice that fails to load', () => {
  const logLines: string[] = [];
  const harness = useFakeEngineServer({
    start: { logger: recordingLogger(logLines) },
    prepare: (fixture) => {
      const voice = path.join(fixture.root, 'models', 'vits-piper-test-broken');
      writeBrokenModel(voice);
      editConf(fixture.root, {
        'character_config.tts_config.tts_model': 'sherpa_onnx_tts',
        'character_config.tts_config.sherpa_onnx_tts': { vits_model: './models/vits-piper-test-broken/model.int8.onnx', vits_tokens: './models/vits-piper-test-broken/tokens.txt', sid: 0 },
      });
    },
  });

  test('the reply is shown without speech, the log says why, and the next reply is too', async () => {
    harness.fake.llm = () => ({ tokens: tokens('First sentence. Second one.') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    for (const round of [1, 2]) {
      client.frames.length = 0;
      client.send({ type: 'text-input', text: `hello ${round}`, images: [] });
      await client.next('backend-synth-complete', 1, 20_000);
      const audio = client.ofType('audio');
      expect(audio.map((f) => [f.audio, (f.display_text as { text: string }).text])).toEqual([
        [null, 'First sentence. '],
        [null, 'Second one.'],
      ]);
    }
    expect(logLines.some((l) => /sherpa_onnx_tts could not speak "First sentence\.": sherpa_onnx_tts: the model failed to load: Load model from .*Protobuf parsing failed/.test(l))).toBe(true);
    await client.close();
  }, 60_000);
});
