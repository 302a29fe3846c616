import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from './config-error.js';
import { displayPath } from './yaml-file.js';

/**
 * `model_dict.json`: the Live2D models a character can use. An entry is sent to the client as it is
 * (`set-model-and-conf.model_info`), so unknown keys are kept; only what the client relies on is checked
 * (`url` must be a string: the web client calls `.startsWith` on it).
 */
export const modelInfoSchema = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  url: z.string().min(1),
  kScale: z.number().optional(),
  initialXshift: z.number().optional(),
  initialYshift: z.number().optional(),
  kXOffset: z.number().optional(),
  idleMotionGroupName: z.string().optional(),
  emotionMap: z.record(z.string(), z.union([z.number().int(), z.string()])).default({}),
  tapMotions: z.record(z.string(), z.record(z.string(), z.number())).optional(),
});

export type ModelInfo = z.infer<typeof modelInfoSchema>;

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
