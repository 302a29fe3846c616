import path from 'node:path';
import { loadAppConfig } from '../../src/config/app-config.js';
import { loadCharacterFile } from '../../src/config/character-files.js';
import { ConfigError } from '../../src/config/config-error.js';
import { sherpaOnnxAsrSchema, sherpaOnnxTtsSchema } from '../../src/config/sherpa-onnx-schema.js';
import { sherpaAsrSpec } from '../../src/engines/asr/sherpa-onnx-asr.js';
import { sherpaTtsSpec } from '../../src/engines/tts/sherpa-onnx-tts.js';
import { buildCharacterRuntime } from '../../src/session/character-runtime.js';
import { editConf } from '../helpers/engine-config.js';
import { makeFixtureRoot, REPO_ROOT } from '../helpers/fixture-root.js';

const SENSE_VOICE = 'sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17';

/** upstream's conf.default.yaml blocks, as a user brings them. */
const UPSTREAM_ASR = {
  model_type: 'sense_voice',
  sense_voice: `./models/${SENSE_VOICE}/model.int8.onnx`,
  tokens: `./models/${SENSE_VOICE}/tokens.txt`,
  num_threads: 4,
  use_itn: true,
  provider: 'cpu',
};
const UPSTREAM_TTS = {
  vits_model: '/path/to/tts-models/vits-melo-tts-zh_en/model.onnx',
  vits_lexicon: '/path/to/tts-models/vits-melo-tts-zh_en/lexicon.txt',
  vits_tokens: '/path/to/tts-models/vits-melo-tts-zh_en/tokens.txt',
  vits_data_dir: '',
  vits_dict_dir: '/path/to/tts-models/vits-melo-tts-zh_en/dict',
  tts_rule_fsts: '/path/to/tts-models/vits-melo-tts-zh_en/number.fst,/path/to/tts-models/vits-melo-tts-zh_en/phone.fst',
  max_num_sentences: 2,
  sid: 1,
  provider: 'cpu',
  num_threads: 1,
  speed: 1.0,
  debug: false,
};

describe('sherpa_onnx_asr / sherpa_onnx_tts configuration', () => {
  const fixture = makeFixtureRoot();
  afterAll(() => fixture.cleanup());

  /** Both sherpa engines chosen with upstream's blocks, then `changes` over them. */
  async function runtimeWith(changes: Record<string, unknown>) {
    editConf(fixture.root, {
      'character_config.asr_config.asr_model': 'sherpa_onnx_asr',
      'character_config.asr_config.sherpa_onnx_asr': UPSTREAM_ASR,
      'character_config.tts_config.tts_model': 'sherpa_onnx_tts',
      'character_config.tts_config.sherpa_onnx_tts': UPSTREAM_TTS,
      ...changes,
    });
    const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
    return buildCharacterRuntime(app, app.baseCharacter);
  }

  async function configError(changes: Record<string, unknown>): Promise<ConfigError> {
    const err = await runtimeWith(changes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }

  test("upstream's default blocks are accepted and give the sherpa-onnx engines (nothing loads until used)", async () => {
    const character = await runtimeWith({});
    expect(character.runtime.asr?.provider).toBe('sherpa_onnx_asr');
    expect(character.runtime.asrUnavailable).toBeUndefined();
    expect(character.runtime.tts.provider).toBe('sherpa_onnx_tts');
    expect(character.runtime.warnings).toEqual([]);
  });

  test('a model file key its model_type needs is missing: the error names the file and the key', async () => {
    const { sense_voice: _omitted, ...withoutModel } = UPSTREAM_ASR;
    const err = await configError({ 'character_config.asr_config.sherpa_onnx_asr': withoutModel });
    expect(err.file).toBe('conf.yaml');
    expect(err.keyPath).toBe('character_config.asr_config.sherpa_onnx_asr.sense_voice');
    expect(err.message).toMatch(/^conf\.yaml: character_config\.asr_config\.sherpa_onnx_asr\.sense_voice \(line \d+\): required for model_type "sense_voice" \(the path of its \.onnx file\)$/);
  });

  test('an unknown model_type lists the valid ones; tokens is required; a transducer needs its joiner', async () => {
    let err = await configError({ 'character_config.asr_config.sherpa_onnx_asr': { ...UPSTREAM_ASR, model_type: 'sensevoice' } });
    expect(err.keyPath).toBe('character_config.asr_config.sherpa_onnx_asr.model_type');
    expect(err.message).toMatch(/expected one of .*"whisper".*"sense_voice"/);
    const { tokens: _t, ...noTokens } = UPSTREAM_ASR;
    err = await configError({ 'character_config.asr_config.sherpa_onnx_asr': noTokens });
    expect(err.keyPath).toBe('character_config.asr_config.sherpa_onnx_asr.tokens');
    err = await configError({ 'character_config.asr_config.sherpa_onnx_asr': { model_type: 'transducer', encoder: 'e.onnx', decoder: 'd.onnx', tokens: 't.txt' } });
    expect(err.keyPath).toBe('character_config.asr_config.sherpa_onnx_asr.joiner');
    err = await configError({ 'character_config.asr_config.sherpa_onnx_asr': { ...UPSTREAM_ASR, num_threads: 'four' } });
    expect(err.message).toMatch(/sherpa_onnx_asr\.num_threads \(line \d+\): expected number, got "four"$/);
  });

  test('sherpa_onnx_tts: a Kokoro voice needs its voices file; a bad value names the key', async () => {
    let err = await configError({
      'character_config.tts_config.sherpa_onnx_tts': { model_type: 'kokoro', kokoro_model: 'k/model.onnx', kokoro_tokens: 'k/tokens.txt' },
    });
    expect(err.message).toMatch(/^conf\.yaml: character_config\.tts_config\.sherpa_onnx_tts\.kokoro_voices \(line \d+\): required for model_type "kokoro" \(a file path\)$/);
    err = await configError({ 'character_config.tts_config.sherpa_onnx_tts': { ...UPSTREAM_TTS, provider: 'tpu' } });
    expect(err.keyPath).toBe('character_config.tts_config.sherpa_onnx_tts.provider');
    const { vits_model: _m, ...noModel } = UPSTREAM_TTS;
    err = await configError({ 'character_config.tts_config.sherpa_onnx_tts': noModel });
    expect(err.keyPath).toBe('character_config.tts_config.sherpa_onnx_tts.vits_model');
  });

  test('a block is validated when present, as upstream does, even when another engine is chosen; a character file is named', async () => {
    let err = await configError({ 'character_config.asr_config.asr_model': 'pocketsphinx_asr', 'character_config.asr_config.sherpa_onnx_asr': { ...UPSTREAM_ASR, use_itn: 'yes' } });
    expect(err.keyPath).toBe('character_config.asr_config.sherpa_onnx_asr.use_itn');
    editConf(fixture.root, { 'character_config.asr_config.sherpa_onnx_asr': UPSTREAM_ASR });
    fixture.write('characters/whisper_voice.yaml', "character_config:\n  conf_name: 'whisper_voice'\n  conf_uid: 'whisper_voice_001'\n  asr_config:\n    asr_model: 'sherpa_onnx_asr'\n    sherpa_onnx_asr:\n      model_type: 'whisper'\n      whisper_encoder: './models/w/encoder.onnx'\n");
    const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
    err = await loadCharacterFile(app, 'whisper_voice.yaml').then(
      () => undefined as never,
      (e: ConfigError) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.file).toBe('characters/whisper_voice.yaml');
    // Merged over conf.yaml's block, so tokens is there; the decoder a whisper model needs is not.
    expect(err.keyPath).toBe('character_config.asr_config.sherpa_onnx_asr.whisper_decoder');
  });

  test("the recogniser config sherpa-onnx gets: paths from the config's folder, the folder under models/ downloadable", () => {
    const root = '/srv/vtuber';
    const spec = sherpaAsrSpec(sherpaOnnxAsrSchema.parse(UPSTREAM_ASR), root);
    const folder = path.join(root, 'models', SENSE_VOICE);
    expect(spec.config).toEqual({
      featConfig: { sampleRate: 16000, featureDim: 80 },
      modelConfig: {
        senseVoice: { model: path.join(folder, 'model.int8.onnx'), useInverseTextNormalization: 1 },
        tokens: path.join(folder, 'tokens.txt'),
        numThreads: 4,
        provider: 'cpu',
        debug: 0,
        modelingUnit: '',
        bpeVocab: '',
      },
      decodingMethod: 'greedy_search',
      hotwordsFile: '',
      hotwordsScore: 1.5,
      blankPenalty: 0,
    });
    expect(spec.download).toEqual({ folder, url: `https://github.com/k2-fsa/sherpa-onnx/releases/download/asr-models/${SENSE_VOICE}.tar.bz2` });
    expect(spec.files.map((f) => f.key)).toEqual(['sense_voice', 'tokens']);

    const whisper = sherpaAsrSpec(
      sherpaOnnxAsrSchema.parse({ model_type: 'whisper', whisper_encoder: '/opt/w/tiny.en-encoder.onnx', whisper_decoder: '/opt/w/tiny.en-decoder.onnx', tokens: '/opt/w/tiny.en-tokens.txt', whisper_language: 'en', download_base_url: 'http://127.0.0.1:1/x' }),
      root,
    );
    expect((whisper.config as { modelConfig: Record<string, unknown> }).modelConfig.whisper).toEqual({
      encoder: '/opt/w/tiny.en-encoder.onnx',
      decoder: '/opt/w/tiny.en-decoder.onnx',
      language: 'en',
      task: 'transcribe',
      tailPaddings: -1,
    });
    expect(whisper.download).toBeUndefined(); // not under a models/ folder: a missing file is reported, not fetched

    const paraformer = sherpaAsrSpec(sherpaOnnxAsrSchema.parse({ model_type: 'paraformer', paraformer: 'models/p/model.onnx', tokens: 'models/p/tokens.txt', download_base_url: 'http://127.0.0.1:1/x/' }), root);
    expect(paraformer.download?.url).toBe('http://127.0.0.1:1/x/asr-models/p.tar.bz2');
  });

  test('the voice config sherpa-onnx gets: VITS (upstream keys, Piper too), Kokoro, Matcha', () => {
    const vits = sherpaTtsSpec(sherpaOnnxTtsSchema.parse(UPSTREAM_TTS), '/srv');
    expect(vits.config).toEqual({
      model: {
        vits: {
          model: '/path/to/tts-models/vits-melo-tts-zh_en/model.onnx',
          lexicon: '/path/to/tts-models/vits-melo-tts-zh_en/lexicon.txt',
          tokens: '/path/to/tts-models/vits-melo-tts-zh_en/tokens.txt',
          dataDir: '',
          dictDir: '/path/to/tts-models/vits-melo-tts-zh_en/dict',
        },
        numThreads: 1,
        provider: 'cpu',
        debug: 0,
      },
      maxNumSentences: 2,
      ruleFsts: '/path/to/tts-models/vits-melo-tts-zh_en/number.fst,/path/to/tts-models/vits-melo-tts-zh_en/phone.fst',
    });
    const piper = sherpaTtsSpec(
      sherpaOnnxTtsSchema.parse({ vits_model: 'models/vits-piper-en_US-amy-low/en_US-amy-low.onnx', vits_tokens: 'models/vits-piper-en_US-amy-low/tokens.txt', vits_data_dir: 'models/vits-piper-en_US-amy-low/espeak-ng-data' }),
      '/srv',
    );
    expect(piper.download).toEqual({ folder: '/srv/models/vits-piper-en_US-amy-low', url: 'https://github.com/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-en_US-amy-low.tar.bz2' });
    const kokoro = sherpaTtsSpec(sherpaOnnxTtsSchema.parse({ model_type: 'kokoro', kokoro_model: 'k/model.onnx', kokoro_voices: 'k/voices.bin', kokoro_tokens: 'k/tokens.txt', kokoro_data_dir: 'k/espeak-ng-data' }), '/srv');
    expect((kokoro.config as { model: Record<string, unknown> }).model.kokoro).toEqual({
      model: '/srv/k/model.onnx',
      voices: '/srv/k/voices.bin',
      tokens: '/srv/k/tokens.txt',
      dataDir: '/srv/k/espeak-ng-data',
      lexicon: '',
    });
    const matcha = sherpaTtsSpec(
      sherpaOnnxTtsSchema.parse({ model_type: 'matcha', matcha_acoustic_model: 'm/model-steps-3.onnx', matcha_vocoder: 'm/vocos-22khz-univ.onnx', matcha_tokens: 'm/tokens.txt' }),
      '/srv',
    );
    expect(matcha.files.map((f) => f.key)).toEqual(['matcha_acoustic_model', 'matcha_vocoder', 'matcha_tokens']);
  });
});
