import { access } from 'node:fs/promises';
import path from 'node:path';
import type { ModelInfo } from '../protocol/model-info.js';

export interface MissingModel {
  name: string;
  /** The folder the user should fill, relative to the working directory (`live2d-models/mao_pro/`). */
  folder: string;
  /** The model file the client will ask for, relative to the working directory. */
  file: string;
}

/**
 * Models of model_dict.json whose `.model3.json` is not in `live2d-models/`: the client would show an empty stage.
 * Only URLs served by this server (`/live2d-models/...`) are checked; a model on another host is the user's business.
 */
export async function findMissingModels(models: readonly ModelInfo[], live2dDir: string, root: string): Promise<MissingModel[]> {
  const missing: MissingModel[] = [];
  for (const model of models) {
    const match = /^\/?live2d-models\/(.+)$/.exec(model.url.split('?')[0]!);
    if (!match) continue;
    const rel = decodeURIComponent(match[1]!);
    const file = path.join(live2dDir, rel);
    if (await access(file).then(() => true, () => false)) continue;
    const top = rel.split('/')[0]!;
    const show = (p: string) => path.relative(root, p).split(path.sep).join('/');
    missing.push({ name: model.name, folder: `${show(path.join(live2dDir, top))}/`, file: show(file) });
  }
  return missing;
}
