import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { emotionKeysText } from './expressions.js';

/** Prompts that are not part of the system prompt: used at other moments (group start, proactive speech, MCP). */
const NOT_IN_SYSTEM_PROMPT = new Set(['group_conversation_prompt', 'proactive_speak_prompt', 'mcp_prompt']);

export interface PromptDirs {
  /** The user's own `prompts/utils/` (working directory) wins over the shipped one. */
  dirs: string[];
  /** How the config file is named in errors. */
  configName: string;
}

/** Reads `prompts/utils/<stem>.txt` from the first folder that has it. */
export async function readPromptFile(stem: string, key: string, where: PromptDirs): Promise<string> {
  if (!/^[\w.-]+$/.test(stem)) {
    throw new ConfigError(where.configName, `system_config.tool_prompts.${key}`, `"${stem}" is not a prompt file name`);
  }
  for (const dir of where.dirs) {
    try {
      return await readFile(path.join(dir, `${stem}.txt`), 'utf8');
    } catch {
      // try the next folder
    }
  }
  throw new ConfigError(
    where.configName,
    `system_config.tool_prompts.${key}`,
    `no prompt file "prompts/utils/${stem}.txt" (looked in ${where.dirs.join(', ')})`,
  );
}

/**
 * Persona + the tool prompts in YAML order (docs/protocol.md, 'Memory'), with the model's emotion keys inserted, plus
 * the interrupt note when the marker reaches the model as a user message.
 */
export async function buildSystemPrompt(options: {
  persona: string;
  toolPrompts: Record<string, string>;
  emotionMap: Record<string, number | string>;
  interruptMethod: 'system' | 'user';
  where: PromptDirs;
}): Promise<string> {
  let prompt = options.persona;
  for (const [key, stem] of Object.entries(options.toolPrompts)) {
    if (NOT_IN_SYSTEM_PROMPT.has(key)) continue;
    // A model without expressions (empty emotionMap) has no tags to teach.
    if (key === 'live2d_expression_prompt' && Object.keys(options.emotionMap).length === 0) continue;
    let text = await readPromptFile(stem, key, options.where);
    if (key === 'live2d_expression_prompt') text = text.replace('[<insert_emomap_keys>]', emotionKeysText(options.emotionMap));
    prompt += text;
  }
  if (options.interruptMethod === 'user') {
    prompt += '\n\nIf you receive the message "[Interrupted by user]", the user cut your previous reply short; what you had said up to there ends with "...".';
  }
  return prompt;
}
