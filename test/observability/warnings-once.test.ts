import { loadAppConfig } from '../../src/config/app-config.js';
import { reportIgnoredKeys } from '../../src/config/unsupported-keys.js';
import { reportConfigKeysAtStartup } from '../../src/config/startup-key-report.js';
import { editConf } from '../helpers/engine-config.js';
import { makeFixtureRoot, REPO_ROOT } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';
import { recordingLogger } from '../helpers/recording-logger.js';

describe('provider warnings: once per process per character file, not at every switch of every session', () => {
  const fixture = makeFixtureRoot();
  editConf(fixture.root, { 'character_config.tts_config.espeak_tts.program': 'no-such-espeak-program' });
  fixture.write('characters/bark.yaml', "character_config:\n  conf_name: 'bark'\n  conf_uid: 'bark'\n  tts_config:\n    tts_model: 'bark_tts'\n");
  fixture.write('characters/llama.yaml', "character_config:\n  conf_name: 'llama'\n  conf_uid: 'llama'\n  agent_config:\n    agent_settings:\n      basic_memory_agent:\n        llm_provider: 'stateless_llm_with_template'\n");
  const { logger, lines } = recordingLogger();
  const harness = useTestServer(fixture, { logger });

  test('20 switches in 5 sessions: each warning is in the log exactly once', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(harness.server.wsUrl)));
    await Promise.all(clients.map((c) => c.ready()));
    const files = ['bark.yaml', 'llama.yaml', 'conf.yaml', 'bark.yaml'];
    await Promise.all(
      clients.map(async (client) => {
        for (const [i, file] of files.entries()) {
          client.send({ type: 'switch-config', file });
          await client.next('config-switched', i + 1, 10_000);
        }
      }),
    );
    const switched = lines.filter((l) => /switched to /.test(l));
    expect(switched).toHaveLength(20);
    const warnings = lines.filter((l) => l.startsWith('warn:'));
    const count = (pattern: RegExp) => warnings.filter((l) => pattern.test(l)).length;
    expect(count(/conf\.yaml: espeak_tts: neither espeak-ng nor flite is on PATH/)).toBe(1);
    expect(count(/bark\.yaml: character_config\.tts_config\.tts_model "bark_tts" is not built in this server/)).toBe(1);
    expect(count(/llama\.yaml: character_config\.agent_config\.agent_settings\.basic_memory_agent\.llm_provider "stateless_llm_with_template" is not built/)).toBe(1);
    // bark.yaml and llama.yaml inherit conf.yaml's espeak settings: said once for each of them, too.
    expect(count(/bark\.yaml: espeak_tts/)).toBe(0);
    expect(count(/llama\.yaml: espeak_tts: neither/)).toBe(1);
    expect(warnings).toHaveLength(new Set(warnings).size);
    await Promise.all(clients.map((c) => c.close()));
  }, 60_000);
});

describe('upstream keys that are accepted but have no effect are named once at startup, with what happens instead', () => {
  test('segment_method, one line; vad_model and live_config work now, so they are not named', async () => {
    const fixture = makeFixtureRoot();
    try {
      editConf(fixture.root, {
        'character_config.vad_config.vad_model': 'silero_vad',
        'character_config.agent_config.agent_settings.basic_memory_agent.segment_method': 'pysbd',
        live_config: { bilibili_live: { room_ids: [1], sessdata: '' } },
      });
      const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
      const { logger, lines } = recordingLogger();
      reportIgnoredKeys('conf.yaml', app, logger);
      expect(lines).toEqual([
        expect.stringMatching(/^warn: conf\.yaml: character_config\.agent_config\.agent_settings\.basic_memory_agent\.segment_method is accepted but not supported: sentences are split by this server's own splitter/),
      ]);
    } finally {
      fixture.cleanup();
    }
  });

  test('translate_audio works (translated-speech.ts), so turning it on is not reported; a key that has no effect still is, once', async () => {
    const fixture = makeFixtureRoot();
    try {
      editConf(fixture.root, {
        'character_config.tts_preprocessor_config.translator_config': { translate_audio: true, translate_provider: 'deeplx', deeplx: { deeplx_target_lang: 'JA' } },
      });
      fixture.write(
        'characters/translated.yaml',
        "character_config:\n  conf_name: 'translated'\n  conf_uid: 'translated'\n  agent_config:\n    agent_settings:\n      basic_memory_agent:\n        segment_method: 'regex'\n  tts_preprocessor_config:\n    translator_config:\n      translate_audio: true\n      translate_provider: 'tencent'\n",
      );
      const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
      const { logger, lines } = recordingLogger();
      await reportConfigKeysAtStartup(app, logger);
      expect(lines.filter((l) => /translate_audio|translation/.test(l))).toEqual([]);
      expect(lines).toEqual([expect.stringMatching(/^warn: translated\.yaml: character_config\.agent_config\.agent_settings\.basic_memory_agent\.segment_method is accepted but not supported/)]);
    } finally {
      fixture.cleanup();
    }
  });

  test('the shipped conf.yaml and characters turn none of them on: a fresh start says nothing about them', async () => {
    const app = await loadAppConfig({ root: REPO_ROOT, packageRoot: REPO_ROOT });
    const { logger, lines } = recordingLogger();
    await reportConfigKeysAtStartup(app, logger);
    expect(lines).toEqual([]);
  });

  test('a character file that turns one on is named too', async () => {
    const fixture = makeFixtureRoot();
    try {
      fixture.write('characters/listener.yaml', "character_config:\n  conf_name: 'listener'\n  conf_uid: 'listener'\n  agent_config:\n    agent_settings:\n      basic_memory_agent:\n        segment_method: 'regex'\n");
      const app = await loadAppConfig({ root: fixture.root, packageRoot: REPO_ROOT });
      const { logger, lines } = recordingLogger();
      await reportConfigKeysAtStartup(app, logger);
      expect(lines).toEqual([expect.stringMatching(/^warn: listener\.yaml: character_config\.agent_config\.agent_settings\.basic_memory_agent\.segment_method is accepted but not supported: sentences are split by this server's own splitter/)]);
    } finally {
      fixture.cleanup();
    }
  });
});
