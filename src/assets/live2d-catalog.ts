import { access, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface Live2dCharacterEntry {
  name: string;
  avatar: string | null;
  model_path: string;
}

/** `GET /live2d-models/info`: folders `live2d-models/<X>/` holding `<X>.model3.json`, with `<X>.png|jpg|jpeg` as avatar. */
export async function listLive2dModels(dir: string): Promise<Live2dCharacterEntry[] | null> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return null;
  }
  const found: Live2dCharacterEntry[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const name = entry.name;
    const folder = path.join(dir, name);
    if (!(await exists(path.join(folder, `${name}.model3.json`)))) continue;
    let avatar: string | null = null;
    for (const ext of ['png', 'jpg', 'jpeg']) {
      if (await exists(path.join(folder, `${name}.${ext}`))) {
        avatar = `live2d-models/${name}/${name}.${ext}`;
        break;
      }
    }
    found.push({ name, avatar, model_path: `live2d-models/${name}/${name}.model3.json` });
  }
  return found;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
