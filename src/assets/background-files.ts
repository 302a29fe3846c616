import { readdir } from 'node:fs/promises';
import path from 'node:path';

export const BACKGROUND_EXT = /\.(jpe?g|png|gif|webp)$/i;

/**
 * Image files below `backgrounds/`, as paths relative to it (`night/moon.jpg`), so that `/bg/<name>` serves every
 * entry the client is offered. Upstream listed subfolder files by base name only and matched extensions
 * case-sensitively (docs/upstream-defects.md, U26). Sorted, so the list is stable.
 */
export async function listBackgroundFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(current: string, rel: string, depth: number): Promise<void> {
    if (depth > 8) return;
    const entries = await readdir(current, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relName = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(current, entry.name), relName, depth + 1);
      else if (entry.isFile() && BACKGROUND_EXT.test(entry.name)) found.push(relName);
    }
  }
  await walk(dir, '', 0);
  return found.sort((a, b) => a.localeCompare(b));
}
