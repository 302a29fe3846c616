import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export type RealPathVerdict = { kind: 'inside'; file: string } | { kind: 'missing' } | { kind: 'outside'; file: string };

const isWithin = (root: string, file: string) => file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * Where a request inside a static folder really leads: the file (or the directory's index) with every symlink
 * resolved, judged against the folder's own real path. A symlink that stays inside the folder is fine; one that
 * leads out of it (a model downloaded with `texture.png -> ../../conf.yaml`, `root -> /`) is `outside`.
 */
export async function resolveInsideRoot(root: string, relative: string, index: readonly string[] = []): Promise<RealPathVerdict> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return { kind: 'missing' };
  }
  let real: string;
  try {
    real = await realpath(path.join(root, relative));
  } catch {
    return { kind: 'missing' };
  }
  if (!isWithin(realRoot, real)) return { kind: 'outside', file: real };
  if (index.length > 0 && (await stat(real)).isDirectory()) {
    for (const name of index) {
      const entry = await realpath(path.join(real, name)).catch(() => null);
      if (entry === null) continue;
      if (!isWithin(realRoot, entry)) return { kind: 'outside', file: entry };
    }
  }
  return { kind: 'inside', file: real };
}
