import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * node_modules/<name> as seen from the entry script or the working directory (works from dist/, tsx and jest): the
 * engines that run a package in a worker or a child process hand it this folder.
 */
export function findPackageDir(name: string): string | undefined {
  const starts = [process.argv[1] ? path.dirname(path.resolve(process.argv[1])) : undefined, process.cwd()];
  for (const start of starts) {
    for (let dir = start; dir; dir = path.dirname(dir) === dir ? undefined : path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
  }
  return undefined;
}
