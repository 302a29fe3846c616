import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ASR_PROVIDERS } from '../../src/engines/asr/asr-providers.js';
import { createAsrEngine } from '../../src/engines/asr/create-asr-engine.js';
import { AGENT_PROVIDERS } from '../../src/engines/llm/agent-providers.js';
import { createLlmEngine } from '../../src/engines/llm/create-llm-engine.js';
import { LLM_PROVIDERS } from '../../src/engines/llm/llm-providers.js';
import { builtNames, knownNames, notBuiltMessage, ProviderConfigError, type AnyProviderRegistry } from '../../src/engines/provider-registry.js';
import { createTranslator } from '../../src/engines/translate/create-translator.js';
import { TRANSLATOR_PROVIDERS } from '../../src/engines/translate/translator-providers.js';
import { createTtsEngine } from '../../src/engines/tts/create-tts-engine.js';
import { TTS_PROVIDERS } from '../../src/engines/tts/tts-providers.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';

/** The provider tables are the one list of engines: docs/providers.md says what they say, and their errors name keys. */

const REGISTRIES: readonly AnyProviderRegistry[] = [LLM_PROVIDERS, AGENT_PROVIDERS, TTS_PROVIDERS, ASR_PROVIDERS, TRANSLATOR_PROVIDERS];

interface DocRow {
  kind: string;
  names: string[];
  notBuilt: boolean;
}

/** The rows of docs/providers.md's provider table: its kind, the names it lists (not those in parentheses), "not built". */
function docRows(): DocRow[] {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/providers.md'), 'utf8');
  const kinds = new Set(REGISTRIES.map((r) => r.kind as string));
  return doc
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
    .filter(([kind]) => kinds.has(kind!))
    .map(([kind, names, what]) => ({
      kind: kind!,
      names: [...names!.replace(/\([^)]*\)/g, '').matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]!),
      notBuilt: /^not built\b/.test(what!),
    }));
}

describe('docs/providers.md and the provider tables agree', () => {
  const rows = docRows();

  test('the page has a row for every kind', () => {
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(REGISTRIES.map((r) => r.kind)));
  });

  test.each(REGISTRIES.map((r) => [r.kind, r] as const))('%s: every provider in the table is on the page, built or marked not built', (kind, registry) => {
    const documented = (notBuilt: boolean) => new Set(rows.filter((r) => r.kind === kind && r.notBuilt === notBuilt).flatMap((r) => r.names));
    expect(builtNames(registry).filter((name) => !documented(false).has(name))).toEqual([]);
    expect(registry.notBuilt.filter((name) => !documented(true).has(name))).toEqual([]);
  });

  test.each(REGISTRIES.map((r) => [r.kind, r] as const))('%s: every provider the page names is in the table, and not built where the page says so', (kind, registry) => {
    const wrong = rows
      .filter((r) => r.kind === kind)
      .flatMap((r) => r.names.filter((name) => !(r.notBuilt ? registry.notBuilt : builtNames(registry)).includes(name)).map((name) => `${name}${r.notBuilt ? ' (not built)' : ''}`));
    expect(wrong).toEqual([]);
  });

  test('no name is both built and not built', () => {
    for (const registry of REGISTRIES) expect(builtNames(registry).filter((name) => registry.notBuilt.includes(name))).toEqual([]);
    expect(REGISTRIES.every((r) => new Set(knownNames(r)).size === knownNames(r).length)).toBe(true);
  });
});

describe('a provider that is not built is said, never substituted', () => {
  test('each kind names the key and lists what is built', () => {
    expect(createTtsEngine('bark_tts', {}).warning).toBe(notBuiltMessage(TTS_PROVIDERS, 'bark_tts'));
    expect(notBuiltMessage(TTS_PROVIDERS, 'bark_tts')).toMatch(
      /^character_config\.tts_config\.tts_model "bark_tts" is not built in this server, so replies are shown without speech; choose one of edge_tts, openai_tts, .*silent_tts$/,
    );
    expect(createAsrEngine('azure_asr', {})).toEqual({ warning: notBuiltMessage(ASR_PROVIDERS, 'azure_asr') });
    expect(notBuiltMessage(AGENT_PROVIDERS, 'mem0_agent')).toBe(
      'character_config.agent_config.conversation_agent_choice "mem0_agent" is not built in this server; choose basic_memory_agent (with an llm_provider) or letta_agent',
    );
  });

  test('a model that is not built answers with a not_built error, not another model', async () => {
    const choice = createLlmEngine('stateless_llm_with_template', {}, { persona: { name: 'x', emotionKeys: [] }, root: REPO_ROOT });
    expect(choice.engine.provider).toBe('stateless_llm_with_template');
    expect(choice.warning).toBe(notBuiltMessage(LLM_PROVIDERS, 'stateless_llm_with_template'));
    const stream = choice.engine.stream({} as never, () => undefined, new AbortController().signal);
    await expect(stream).rejects.toMatchObject({ code: 'not_built' });
  });
});

describe("a block that does not validate names its key and what is expected", () => {
  test('a schema problem: the key below the block', () => {
    const thrown = (() => {
      try {
        createTtsEngine('openai_tts', { file_extension: 'ogg' });
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(ProviderConfigError);
    expect(thrown).toMatchObject({ path: 'character_config.tts_config.openai_tts.file_extension', problem: 'expected one of "mp3", "wav", got "ogg"' });
  });

  test('a required key that is missing, and a value the factory refuses', () => {
    expect(() => createLlmEngine('claude_llm', { model: 'm' }, { persona: { name: 'x', emotionKeys: [] }, root: REPO_ROOT })).toThrow(
      expect.objectContaining({ path: 'character_config.agent_config.llm_configs.claude_llm.llm_api_key', problem: 'required, expected string' }),
    );
    expect(() => createTtsEngine('piper_tts', { model_path: 'voices/mine.onnx' })).toThrow(expect.objectContaining({ path: 'character_config.tts_config.piper_tts.model_path' }));
    expect(() => createTranslator({ translate_audio: true, translate_provider: 'deeplx', deeplx: { deeplx_target_lang: '' } })).toThrow(
      expect.objectContaining({ path: 'character_config.tts_preprocessor_config.translator_config.deeplx.deeplx_target_lang' }),
    );
  });
});
