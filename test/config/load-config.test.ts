import path from 'node:path';
import { loadAppConfig } from '../../src/config/app-config.js';
import { ConfigError } from '../../src/config/config-error.js';
import { makeFixtureRoot } from '../helpers/fixture-root.js';

/** A conf.yaml shaped like upstream's template (every provider block, upstream-only keys), in our own words. */
const UPSTREAM_SHAPED = `
system_config:
  conf_version: 'v1.2.1'
  host: 'localhost'
  port: 12393
  config_alts_dir: 'characters'
  tool_prompts:
    live2d_expression_prompt: 'live2d_expression_prompt'
    group_conversation_prompt: 'group_conversation_prompt'
    mcp_prompt: 'mcp_prompt'
    proactive_speak_prompt: 'proactive_speak_prompt'
  future_system_key: true
character_config:
  conf_name: 'mao_pro'
  conf_uid: 'mao_pro_001'
  live2d_model_name: 'mao_pro'
  character_name: 'Mao'
  avatar: 'mao.png'
  human_name: 'Human'
  persona_prompt: |
    A test persona.
  favourite_colour: 'blue'
  agent_config:
    conversation_agent_choice: 'basic_memory_agent'
    agent_settings:
      basic_memory_agent:
        llm_provider: 'ollama_llm'
        faster_first_response: True
        segment_method: 'pysbd'
        use_mcpp: True
        mcp_enabled_servers: ["time", "ddg-search"]
      letta_agent: { host: 'localhost', port: 8283, id: xxx, faster_first_response: True, segment_method: 'pysbd' }
      hume_ai_agent: { api_key: '', host: 'api.hume.ai', config_id: '', idle_timeout: 15 }
    llm_configs:
      stateless_llm_with_template: { base_url: 'http://localhost:8080/v1', llm_api_key: 'k', model: 'm', template: 'CHATML', temperature: 1.0, interrupt_method: 'user' }
      openai_compatible_llm: { base_url: 'http://localhost:11434/v1', llm_api_key: 'k', organization_id: null, project_id: null, model: 'qwen2.5:latest', temperature: 1.0, interrupt_method: 'user' }
      claude_llm: { base_url: 'https://api.anthropic.com', llm_api_key: 'k', model: 'claude-3-haiku-20240307' }
      llama_cpp_llm: { model_path: '<gguf>', verbose: False }
      ollama_llm: { base_url: 'http://localhost:11434/v1', model: 'qwen2.5:latest', temperature: 1.0, keep_alive: -1, unload_at_exit: True }
      groq_llm: { llm_api_key: 'k', model: 'llama-3.3-70b-versatile', temperature: 1.0 }
  asr_config:
    asr_model: 'sherpa_onnx_asr'
    azure_asr: { api_key: 'k', region: 'eastus', languages: ['en-US', 'zh-CN'] }
    faster_whisper: { model_path: 'large-v3-turbo', download_root: 'models/whisper', language: 'en', device: 'auto', compute_type: 'int8' }
    sherpa_onnx_asr: { model_type: 'sense_voice', sense_voice: './m/model.int8.onnx', tokens: './m/tokens.txt', num_threads: 4, use_itn: True, provider: 'cpu' }
    groq_whisper_asr: { api_key: '', model: 'whisper-large-v3-turbo', lang: '' }
  tts_config:
    tts_model: 'edge_tts'
    azure_tts: { api_key: 'k', region: 'eastus', voice: 'en-US-AshleyNeural', pitch: '26', rate: '1' }
    edge_tts: { voice: 'en-US-AvaMultilingualNeural' }
    gpt_sovits: { api_url: 'http://127.0.0.1:9880/tts' }
  vad_config:
    vad_model: null
    silero_vad: { orig_sr: 16000, target_sr: 16000, prob_threshold: 0.4, db_threshold: 60, required_hits: 3, required_misses: 24, smoothing_window: 5 }
  tts_preprocessor_config:
    remove_special_char: True
    ignore_brackets: True
    ignore_parentheses: True
    ignore_asterisks: True
    ignore_angle_brackets: True
    translator_config:
      translate_audio: False
      translate_provider: 'deeplx'
      deeplx: { deeplx_target_lang: 'JA', deeplx_api_endpoint: 'http://localhost:1188/v2/translate' }
live_config:
  bilibili_live: { room_ids: [1991478060], sessdata: '' }
`;

async function expectConfigError(promise: Promise<unknown>, expected: Partial<ConfigError>, message?: RegExp) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  expect(err).toMatchObject(expected);
  if (message) expect((err as Error).message).toMatch(message);
}

describe('conf.yaml loading (docs/configuration.md)', () => {
  const fixture = makeFixtureRoot();
  afterAll(() => fixture.cleanup());

  test('the shipped conf.yaml loads with no external service and nothing unsupported', async () => {
    const app = await loadAppConfig({ root: fixture.root });
    expect(app.system).toMatchObject({ host: 'localhost', port: 12393, config_alts_dir: 'characters', enable_proxy: false });
    expect(app.baseCharacter.config).toMatchObject({ conf_name: 'mao_pro', conf_uid: 'mao_pro_001', character_name: 'Mao' });
    expect(app.baseCharacter.modelInfo.name).toBe('mao_pro');
    expect(app.unsupported).toEqual([]);
    expect(app.paths.configAltsDir).toBe(path.join(fixture.root, 'characters'));
  });

  test("a user's upstream conf.yaml loads; keys we do not know are kept in the report, provider blocks are not noise", async () => {
    fixture.write('upstream.yaml', UPSTREAM_SHAPED);
    const app = await loadAppConfig({ root: fixture.root, configPath: 'upstream.yaml' });
    expect(app.baseCharacter.config.agent_config.agent_settings.basic_memory_agent).toMatchObject({
      llm_provider: 'ollama_llm',
      use_mcpp: true,
      mcp_enabled_servers: ['time', 'ddg-search'],
    });
    expect(app.baseCharacter.config.tts_config.tts_model).toBe('edge_tts');
    expect(app.unsupported).toEqual(['system_config.future_system_key', 'character_config.favourite_colour']);
    expect(app.baseCharacter.file).toBe('upstream.yaml');
  });

  test('defaults as upstream, and character_name falls back to conf_name (upstream meant to: U27)', async () => {
    fixture.write(
      'minimal.yaml',
      UPSTREAM_SHAPED.replace("  character_name: 'Mao'\n", '').replace("  human_name: 'Human'\n", '').replace(/^system_config:[\s\S]*?(?=character_config:)/m, ''),
    );
    const app = await loadAppConfig({ root: fixture.root, configPath: 'minimal.yaml' });
    expect(app.baseCharacter.config.character_name).toBe('mao_pro');
    expect(app.baseCharacter.config.human_name).toBe('Human');
    expect(app.system.port).toBe(12393);
    expect(app.system.ws_max_payload_bytes).toBe(16 * 1024 * 1024);
  });

  test('${ENV} is substituted before parsing; an unset variable stays as written', async () => {
    fixture.write('env.yaml', UPSTREAM_SHAPED.replace('port: 12393', 'port: ${VAS_TEST_PORT}').replace("persona_prompt: |\n    A test persona.", "persona_prompt: 'Hello ${VAS_UNSET_VARIABLE}'"));
    const app = await loadAppConfig({ root: fixture.root, configPath: 'env.yaml', env: { VAS_TEST_PORT: '4321' } });
    expect(app.system.port).toBe(4321);
    expect(app.baseCharacter.config.persona_prompt).toBe('Hello ${VAS_UNSET_VARIABLE}');
  });

  test('a GBK-encoded file (a legacy Chinese Windows save) loads', async () => {
    const text = UPSTREAM_SHAPED.replace('A test persona.', '你是一个虚拟主播。');
    const gbk = Buffer.from([...text].flatMap((ch) => (ch === '你' ? [0xc4, 0xe3] : ch === '是' ? [0xca, 0xc7] : ch === '一' ? [0xd2, 0xbb] : ch === '个' ? [0xb8, 0xf6] : ch === '虚' ? [0xd0, 0xe9] : ch === '拟' ? [0xc4, 0xe2] : ch === '主' ? [0xd6, 0xf7] : ch === '播' ? [0xb2, 0xa5] : ch === '。' ? [0xa1, 0xa3] : [...Buffer.from(ch)])));
    fixture.write('gbk.yaml', gbk);
    const app = await loadAppConfig({ root: fixture.root, configPath: 'gbk.yaml' });
    expect(app.baseCharacter.config.persona_prompt.trim()).toBe('你是一个虚拟主播。');
  });

  test('an invalid value names the file, the key path, the line and what was expected', async () => {
    fixture.write('bad-port.yaml', UPSTREAM_SHAPED.replace('port: 12393', "port: 'twelve'"));
    await expectConfigError(
      loadAppConfig({ root: fixture.root, configPath: 'bad-port.yaml' }),
      { keyPath: 'system_config.port', line: 5 },
      /bad-port\.yaml: system_config\.port \(line 5\): expected number, got "twelve"/,
    );
  });

  test('memory.embeddings is a service or a local model, and says which keys when it is neither or both', async () => {
    const withEmbeddings = (block: string) => UPSTREAM_SHAPED.replace('  future_system_key: true\n', `  future_system_key: true\n  memory:\n    enabled: true\n    embeddings:\n${block}`);
    fixture.write('emb-both.yaml', withEmbeddings("      base_url: 'http://127.0.0.1:11434/v1'\n      model: 'nomic-embed-text'\n      model_path: 'models/e.gguf'\n"));
    await expect(loadAppConfig({ root: fixture.root, configPath: 'emb-both.yaml' })).rejects.toThrow(/emb-both\.yaml: system_config\.memory\.embeddings \(line \d+\): expected either base_url \(with model\) for an embeddings service, or model_path/);
    fixture.write('emb-nomodel.yaml', withEmbeddings("      base_url: 'http://127.0.0.1:11434/v1'\n"));
    await expect(loadAppConfig({ root: fixture.root, configPath: 'emb-nomodel.yaml' })).rejects.toThrow(/system_config\.memory\.embeddings\.model.*expected the service's model name/);
    fixture.write('emb-local.yaml', withEmbeddings("      model_path: 'models/e.gguf'\n"));
    const app = await loadAppConfig({ root: fixture.root, configPath: 'emb-local.yaml' });
    expect(app.system.memory.embeddings).toMatchObject({ model_path: 'models/e.gguf', context_size: 512, threads: 'auto', gpu_layers: 'auto' });
  });

  test('a missing required key is reported at its parent', async () => {
    fixture.write('no-uid.yaml', UPSTREAM_SHAPED.replace("  conf_uid: 'mao_pro_001'\n", ''));
    await expectConfigError(
      loadAppConfig({ root: fixture.root, configPath: 'no-uid.yaml' }),
      { keyPath: 'character_config.conf_uid', line: 14 },
      /required, expected string/,
    );
  });

  test('an unknown provider choice lists the valid ones', async () => {
    fixture.write('bad-tts.yaml', UPSTREAM_SHAPED.replace("tts_model: 'edge_tts'", "tts_model: 'edge'"));
    await expectConfigError(loadAppConfig({ root: fixture.root, configPath: 'bad-tts.yaml' }), {
      keyPath: 'character_config.tts_config.tts_model',
    }, /expected one of .*"edge_tts".*got "edge"/);
  });

  test('broken YAML names the line', async () => {
    fixture.write('broken.yaml', 'system_config:\n  host: [localhost\ncharacter_config: {}\n');
    await expectConfigError(loadAppConfig({ root: fixture.root, configPath: 'broken.yaml' }), { keyPath: '' }, /broken\.yaml: \(top level\) \(line \d\): not valid YAML/);
  });

  test('a missing config file and a missing model_dict.json are named', async () => {
    await expectConfigError(loadAppConfig({ root: fixture.root, configPath: 'nope.yaml' }), {}, /nope\.yaml: \(top level\): file not found/);
    const other = makeFixtureRoot();
    other.write('model_dict.json', '[{"name": "mao_pro", "url": 5}]');
    await expectConfigError(loadAppConfig({ root: other.root }), { keyPath: '[0].url' }, /model_dict\.json: \[0\]\.url: expected string/);
    other.write('model_dict.json', '[]');
    await expectConfigError(
      loadAppConfig({ root: other.root }),
      { keyPath: 'character_config.live2d_model_name' },
      /"mao_pro" is not a model in model_dict\.json \(available: none\)/,
    );
    other.cleanup();
  });

  test('relative paths resolve against the working directory, not the config file (as upstream)', async () => {
    fixture.write('sub/dir/conf.yaml', UPSTREAM_SHAPED);
    const app = await loadAppConfig({ root: fixture.root, configPath: 'sub/dir/conf.yaml' });
    expect(app.paths.configAltsDir).toBe(path.join(fixture.root, 'characters'));
    expect(app.paths.modelDict).toBe(path.join(fixture.root, 'model_dict.json'));
  });
});
