import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mapUpstreamLocalAsr, whisperSize } from '../../src/engines/asr/upstream-local-asr.js';
import { sherpaAsrSpec } from '../../src/engines/asr/sherpa-onnx-asr.js';
import { mapPiperTts } from '../../src/engines/tts/piper-tts.js';
import { sherpaTtsSpec } from '../../src/engines/tts/sherpa-onnx-tts.js';
import { editConf } from '../helpers/engine-config.js';
import { recordingLogger } from '../helpers/recording-logger.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

/**
 * Upstream's local engine names (faster_whisper, whisper_cpp, whisper, fun_asr, piper_tts) served by the sherpa-onnx
 * export of the same model: which model each name and key selects, and, over a real socket, that the server fetches
 * that model from the release host and says once what serves the name.
 */

describe('upstream names → the sherpa-onnx model of the same name and size', () => {
  test.each([
    ['large-v3-turbo', 'turbo'],
    ['Systran/faster-whisper-small', 'small'],
    ['ggml-base.en.bin', 'base.en'],
    ['medium', 'medium'],
    ['large', 'large-v3'],
    ['distil-medium.en', 'distil-medium.en'],
    ['huge-v9', undefined],
  ])('Whisper size "%s" → %s', (name, size) => expect(whisperSize(name)).toBe(size));

  test('faster_whisper: model_path picks the size, language carries over, the keys it cannot use are named', () => {
    const mapped = mapUpstreamLocalAsr('faster_whisper', { model_path: 'large-v3-turbo', download_root: 'models/whisper', language: 'en', device: 'auto', compute_type: 'int8' })!;
    const spec = sherpaAsrSpec(mapped.config, '/srv', 'faster_whisper');
    expect(spec.config).toMatchObject({
      modelConfig: {
        whisper: { encoder: '/srv/models/sherpa-onnx-whisper-turbo/turbo-encoder.int8.onnx', decoder: '/srv/models/sherpa-onnx-whisper-turbo/turbo-decoder.int8.onnx', language: 'en' },
        tokens: '/srv/models/sherpa-onnx-whisper-turbo/turbo-tokens.txt',
      },
    });
    expect(spec.download).toEqual({ folder: '/srv/models/sherpa-onnx-whisper-turbo', url: expect.stringMatching(/\/asr-models\/sherpa-onnx-whisper-turbo\.tar\.bz2$/) });
    expect(mapped.note).toBe('faster_whisper is served by sherpa-onnx Whisper turbo (./models/sherpa-onnx-whisper-turbo); not used here: download_root, device, compute_type');
  });

  test('whisper_cpp (model_name) and whisper (name) select their sizes; "auto" means detect the language', () => {
    const cpp = mapUpstreamLocalAsr('whisper_cpp', { model_name: 'small', model_dir: 'models/whisper', language: 'auto' })!;
    expect(cpp.config).toMatchObject({ model_type: 'whisper', whisper_encoder: './models/sherpa-onnx-whisper-small/small-encoder.int8.onnx', whisper_language: '' });
    const py = mapUpstreamLocalAsr('whisper', { name: 'medium', download_root: 'models/whisper', device: 'cpu' })!;
    expect(py.config).toMatchObject({ whisper_decoder: './models/sherpa-onnx-whisper-medium/medium-decoder.int8.onnx' });
  });

  test('fun_asr: SenseVoiceSmall → SenseVoice with use_itn and ncpu; paraformer-zh → Paraformer', () => {
    const sense = mapUpstreamLocalAsr('fun_asr', { model_name: 'iic/SenseVoiceSmall', vad_model: 'fsmn-vad', ncpu: 2, use_itn: true })!;
    expect(sense.config).toMatchObject({
      model_type: 'sense_voice',
      sense_voice: './models/sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17/model.int8.onnx',
      use_itn: true,
      num_threads: 2,
    });
    const para = mapUpstreamLocalAsr('fun_asr', { model_name: 'paraformer-zh' })!;
    expect(para.config).toMatchObject({ model_type: 'paraformer', paraformer: './models/sherpa-onnx-paraformer-zh-2024-03-09/model.int8.onnx' });
  });

  test('a size or model that has no sherpa-onnx export is a config error naming the key', () => {
    expect(() => mapUpstreamLocalAsr('faster_whisper', { model_path: 'huge-v9' })).toThrow(expect.objectContaining({ path: 'model_path' }));
    expect(() => mapUpstreamLocalAsr('fun_asr', { model_name: 'iic/Whatever' })).toThrow(expect.objectContaining({ path: 'model_name' }));
    expect(mapUpstreamLocalAsr('azure_asr', {})).toBeUndefined();
  });

  test("piper_tts: the voice is found by the model file's name; speaker_id, length_scale, noise_scale, noise_w go to the voice", () => {
    const mapped = mapPiperTts({ model_path: 'models/piper/zh_CN-huayan-medium.onnx', speaker_id: 2, length_scale: 1.2, noise_scale: 0.5, noise_w: 0.7, volume: 0.8 });
    const spec = sherpaTtsSpec(mapped.config, '/srv', 'piper_tts');
    expect(spec.config).toMatchObject({
      model: {
        vits: {
          model: '/srv/models/vits-piper-zh_CN-huayan-medium/zh_CN-huayan-medium.onnx',
          tokens: '/srv/models/vits-piper-zh_CN-huayan-medium/tokens.txt',
          dataDir: '/srv/models/vits-piper-zh_CN-huayan-medium/espeak-ng-data',
          lengthScale: 1.2,
          noiseScale: 0.5,
          noiseScaleW: 0.7,
        },
      },
    });
    expect(mapped.config).toMatchObject({ sid: 2, volume: 0.8, normalize_audio: true });
    expect(spec.download?.url).toMatch(/\/tts-models\/vits-piper-zh_CN-huayan-medium\.tar\.bz2$/);
    expect(() => mapPiperTts({ model_path: 'voices/my-voice.onnx' })).toThrow(expect.objectContaining({ path: 'model_path' }));
  });
});

describe('over a real socket: the server fetches the mapped models from the release host', () => {
  const requested: string[] = [];
  const release = http.createServer((req, res) => {
    requested.push(req.url ?? '');
    res.writeHead(404).end();
  });
  const log = recordingLogger();
  const saved = process.env.SHERPA_ONNX_RELEASES_URL;
  beforeAll(async () => {
    await new Promise<void>((resolve) => release.listen(0, '127.0.0.1', resolve));
    process.env.SHERPA_ONNX_RELEASES_URL = `http://127.0.0.1:${(release.address() as AddressInfo).port}/rel`;
  });
  afterAll(async () => {
    process.env.SHERPA_ONNX_RELEASES_URL = saved;
    if (saved === undefined) delete process.env.SHERPA_ONNX_RELEASES_URL;
    release.closeAllConnections();
    await new Promise((resolve) => release.close(resolve));
  });
  const harness = useFakeEngineServer({
    start: { logger: log.logger },
    prepare: (fixture) => {
      editConf(fixture.root, {
        'character_config.asr_config.asr_model': 'faster_whisper',
        'character_config.asr_config.faster_whisper': { model_path: 'large-v3-turbo', download_root: 'models/whisper', language: 'en', device: 'auto', compute_type: 'int8' },
        'character_config.tts_config.tts_model': 'piper_tts',
        'character_config.tts_config.piper_tts': { model_path: 'models/piper/en_US-amy-low.onnx', speaker_id: 0, length_scale: 1.0 },
      });
    },
  });

  test('faster_whisper and piper_tts: each named once in the log; a voice turn asks the host for the Whisper turbo archive', async () => {
    await log.line(/conf\.yaml: faster_whisper is served by sherpa-onnx Whisper turbo \(\.\/models\/sherpa-onnx-whisper-turbo\)/);
    await log.line(/conf\.yaml: piper_tts is served by sherpa-onnx's conversion of the Piper voice en_US-amy-low/);
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.frames.length = 0;
    client.send({ type: 'mic-audio-data', audio: [0.1, 0.2, 0.1] });
    client.send({ type: 'mic-audio-end', images: [] });
    const error = await client.next('error', 1, 20_000);
    expect(error.code).toBe('asr');
    expect(error.message).toMatch(/faster_whisper|sherpa-onnx-whisper-turbo/);
    expect(requested).toEqual(expect.arrayContaining(['/rel/asr-models/sherpa-onnx-whisper-turbo.tar.bz2', '/rel/tts-models/vits-piper-en_US-amy-low.tar.bz2']));
    await client.close();
  }, 60_000);
});
