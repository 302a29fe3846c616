import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { displayPath } from './yaml-file.js';
import { modelInfoSchema, type ModelInfo } from '../protocol/model-info.js';

/** `model_dict.json`: the Live2D models a character can use (each entry: protocol/model-info.ts). */
export const modelDictSchema = z.array(modelInfoSchema);

export async function loadModelDict(file: string, root: string): Promise<ModelInfo[]> {
  const shown = displayPath(root, file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(shown, '', code === 'ENOENT' ? 'file not found (it lists the Live2D models)' : `cannot read (${code})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError(shown, '', `not valid JSON: ${(err as Error).message}`);
  }
  const result = modelDictSchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    throw new ConfigError(shown, where, issue.message.replace(/^Invalid input: /, ''));
  }
  return result.data;
}

/** The entry whose `name` is the character's `live2d_model_name`, with the original key case kept. */
export function findModel(models: ModelInfo[], name: string): ModelInfo | undefined {
  return models.find((m) => m.name === name);
}
