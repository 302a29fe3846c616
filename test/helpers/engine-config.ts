import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';

/** Edits the fixture's conf.yaml (keeping its comments) through key paths: `{ 'system_config.port': 1 }`. */
export function editConf(root: string, changes: Record<string, unknown>, file = 'conf.yaml'): void {
  const full = path.join(root, file);
  const doc = parseDocument(readFileSync(full, 'utf8'));
  for (const [key, value] of Object.entries(changes)) doc.setIn(key.split('.'), value);
  writeFileSync(full, doc.toString());
}

/** Points the fixture's character at the fake AI server: OpenAI-compatible LLM, openai_tts and Whisper-style ASR. */
export function useFakeEngines(root: string, baseUrl: string, extra: Record<string, unknown> = {}): void {
  editConf(root, {
    'character_config.agent_config.agent_settings.basic_memory_agent.llm_provider': 'openai_compatible_llm',
    'character_config.agent_config.llm_configs.openai_compatible_llm': { base_url: baseUrl, llm_api_key: 'test-key', model: 'fake-model', temperature: 0.5 },
    'character_config.agent_config.llm_configs.claude_llm': { base_url: baseUrl.replace(/\/v1$/, ''), llm_api_key: 'claude-key', model: 'claude-fake' },
    'character_config.tts_config.tts_model': 'openai_tts',
    'character_config.tts_config.openai_tts': { base_url: baseUrl, api_key: 'k', model: 'kokoro', voice: 'af_sky', file_extension: 'wav' },
    'character_config.asr_config.asr_model': 'openai_compatible_asr',
    'character_config.asr_config.openai_compatible_asr': { base_url: baseUrl, api_key: 'k', model: 'whisper-1' },
    'system_config.playback_slack_seconds': 2,
    ...extra,
  });
}
