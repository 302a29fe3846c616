import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { editConf } from './engine-config.js';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The shipped conf.yaml's engines replaced by the offline stack: the rule-based talker, espeak-ng, pocketsphinx. */
export const OFFLINE_STACK = {
  'character_config.agent_config.agent_settings.basic_memory_agent.llm_provider': 'builtin_offline_llm',
  'character_config.tts_config.tts_model': 'espeak_tts',
  'character_config.asr_config.asr_model': 'pocketsphinx_asr',
};

/**
 * A throw-away working directory shaped like a user's install: the shipped conf.yaml, model_dict.json and
 * characters/, plus a few backgrounds and avatars. Tests write more files into it as they need. Its character runs
 * the offline stack (no model downloads); `{ shippedEngines: true }` keeps the shipped local models.
 */
export function makeFixtureRoot(options: { shippedEngines?: boolean } = {}): { root: string; write(rel: string, content: string | Buffer): string; cleanup(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-test-'));
  // Tests run the shipped character on mao_pro, whose emotionMap exercises expressions (shizuku has none).
  writeFileSync(
    path.join(root, 'conf.yaml'),
    readFileSync(path.join(REPO_ROOT, 'conf.yaml'), 'utf8').replace("live2d_model_name: 'shizuku'", "live2d_model_name: 'mao_pro'"),
  );
  if (!options.shippedEngines) editConf(root, OFFLINE_STACK);
  cpSync(path.join(REPO_ROOT, 'model_dict.json'), path.join(root, 'model_dict.json'));
  cpSync(path.join(REPO_ROOT, 'characters'), path.join(root, 'characters'), { recursive: true });
  const write = (rel: string, content: string | Buffer) => {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  };
  write('backgrounds/ceiling-window-room-night.jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  write('backgrounds/cartoon-night-landscape-moon.jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  write('avatars/mao.png', Buffer.from('89504e470d0a1a0a', 'hex'));
  return { root, write, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
