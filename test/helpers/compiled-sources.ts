import { transformSync } from '@swc/core';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './fixture-root.js';

/**
 * The server's sources (src/, machines/) and the test programs that child processes run, compiled to plain
 * JavaScript once per state of those sources, under test-artifacts/compiled/<hash>/ (the repository's own layout,
 * so the entry point finds the package root and node_modules as it does from dist/). A child process started from
 * there loads in about half the CPU time of one started through tsx, whose loader hooks see every import: this
 * suite starts the real entry point a few dozen times.
 *
 * Several Jest workers may ask at once: each builds into a folder of its own and renames it into place; the first
 * rename wins and the others drop theirs. A folder is touched each time it is used; folders of other source states
 * not used for half an hour are removed when a new one is built.
 */

const SOURCE_DIRS = ['src', 'machines'];
/** Test programs run as child processes (they import from src/). */
const PROGRAMS = ['test/helpers/history-child.ts'];
const OUT_ROOT = path.join(REPO_ROOT, 'test-artifacts', 'compiled');
const STALE_MS = 30 * 60_000;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...tsFiles(rel));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

let built: string | undefined;

/** The folder holding the compiled tree (`<it>/src/main.js` is the entry point); built on first use. */
export function compiledRoot(): string {
  if (built && existsSync(path.join(built, '.complete'))) return touched(built);
  const files = [...SOURCE_DIRS.flatMap(tsFiles), ...PROGRAMS].sort();
  const sources = files.map((rel) => readFileSync(path.join(REPO_ROOT, rel), 'utf8'));
  const hash = createHash('sha256');
  files.forEach((rel, i) => hash.update(rel).update('\0').update(sources[i]!).update('\0'));
  const dir = path.join(OUT_ROOT, hash.digest('hex').slice(0, 16));
  if (!existsSync(path.join(dir, '.complete'))) {
    const tmp = `${dir}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    files.forEach((rel, i) => {
      const { code } = transformSync(sources[i]!, {
        filename: rel,
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: false,
      });
      const dest = path.join(tmp, rel.replace(/\.ts$/, '.js'));
      mkdirSync(path.dirname(dest), { recursive: true });
      writeFileSync(dest, code);
    });
    writeFileSync(path.join(tmp, '.complete'), '');
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another worker was first
    }
    pruneStale(dir);
  }
  return touched((built = dir));
}

/** Marks a build as in use, so that no other run removes it as stale. */
function touched(dir: string): string {
  const now = new Date();
  utimesSync(dir, now, now);
  return dir;
}

/** The compiled counterpart of a repository file (`src/main.ts` → `<compiled>/src/main.js`). */
export function compiledFile(rel: string): string {
  return path.join(compiledRoot(), rel.replace(/\.ts$/, '.js'));
}

function pruneStale(keep: string): void {
  for (const name of readdirSync(OUT_ROOT)) {
    const dir = path.join(OUT_ROOT, name);
    if (dir === keep) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
  }
}
