import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { readBaseConfig, attachModel, type AppConfig, type Character } from './app-config.js';
import { ConfigError } from './config-error.js';
import { alternateFileSchema, characterSchema } from './conf-file-schema.js';
import { deepMerge, isPlainObject } from './deep-merge.js';
import { loadModelDict } from './model-dict.js';
import { readYamlFile, validateWith } from './yaml-file.js';
import type { ConfigFileEntry } from '../protocol/server-frames.js';

const YAML_EXT = /\.ya?ml$/i;

/**
 * Every character alternate below `config_alts_dir`, recursively. Unlike upstream (docs/upstream-defects.md, U26), a file in a subfolder is
 * listed by its path relative to the folder, so the name the client sends back can be loaded. Links that lead
 * outside the folder are not listed.
 */
export async function listAlternateFiles(altsDir: string): Promise<string[]> {
  let rootReal: string;
  try {
    rootReal = await realpath(altsDir);
  } catch {
    return [];
  }
  const found: string[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      const relName = rel ? `${rel}/${entry.name}` : entry.name;
      const real = await realpath(full).catch(() => undefined);
      if (!real || !isInside(rootReal, real)) continue;
      if (entry.isDirectory() || (entry.isSymbolicLink() && !YAML_EXT.test(entry.name))) await walk(full, relName);
      else if (YAML_EXT.test(entry.name)) found.push(relName);
    }
  }
  await walk(rootReal, '');
  return found;
}

export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(dir, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The `config-files` list: the base config first, then every alternate with its conf_name (or its file name). */
export async function listConfigFiles(app: AppConfig): Promise<ConfigFileEntry[]> {
  const baseName = await readConfName(app.paths.configFile, app.paths.root).catch(() => undefined);
  const entries: ConfigFileEntry[] = [{ filename: app.baseCharacter.file, name: baseName ?? app.baseCharacter.config.conf_name }];
  for (const rel of await listAlternateFiles(app.paths.configAltsDir)) {
    if (rel === app.baseCharacter.file) continue; // the base config's name is reserved for it
    const name = await readConfName(path.join(app.paths.configAltsDir, rel), app.paths.root).catch(() => undefined);
    entries.push({ filename: rel, name: name ?? rel });
  }
  return entries;
}

/**
 * Names already read, by file and its size and mtime: every page open asks for `fetch-configs`, and re-parsing every
 * character's YAML each time cost milliseconds per open. Bounded by the number of character files; a changed file is
 * read again.
 */
const confNames = new Map<string, { size: number; mtimeMs: number; name: string | undefined }>();
const MAX_REMEMBERED_NAMES = 1000;

async function readConfName(file: string, root: string): Promise<string | undefined> {
  const info = await stat(file).catch(() => undefined);
  const known = confNames.get(file);
  if (info && known && known.size === info.size && known.mtimeMs === info.mtimeMs) return known.name;
  const source = await readYamlFile(file, { root });
  const character = isPlainObject(source.data) ? source.data.character_config : undefined;
  const value = isPlainObject(character) ? character.conf_name : undefined;
  const name = typeof value === 'string' && value ? value : undefined;
  if (info) {
    if (confNames.size >= MAX_REMEMBERED_NAMES) confNames.delete(confNames.keys().next().value!);
    confNames.set(file, { size: info.size, mtimeMs: info.mtimeMs, name });
  }
  return name;
}

/**
 * The heavy part of `switch-config`, minus engines: only a filename `fetch-configs` would list is accepted (docs/upstream-defects.md, U21);
 * the base file is re-read, and an alternate is merged over the *base* character config, never over the current
 * one (docs/upstream-defects.md, U22). Throws ConfigError naming the file and key.
 */
export async function loadCharacterFile(app: AppConfig, filename: string): Promise<Character> {
  const listed = await listConfigFiles(app);
  if (!listed.some((entry) => entry.filename === filename)) {
    throw new ConfigError(
      filename,
      '',
      `not a character file this server lists (choose one of: ${listed.map((e) => e.filename).join(', ')})`,
    );
  }
  const base = await readBaseConfig(app.paths.configFile, app.paths.root);
  const models = await loadModelDict(app.paths.modelDict, app.paths.root);
  if (filename === app.baseCharacter.file) {
    return attachModel(base.parsed.character_config, models, filename, base.source, app.paths.modelDict);
  }
  const altFile = path.join(app.paths.configAltsDir, filename);
  const alt = await readYamlFile(altFile, { root: app.paths.root });
  const altParsed = validateWith(alternateFileSchema, alt);
  const merged = deepMerge(base.rawCharacter, altParsed.character_config ?? {});
  const config = validateWith(characterSchema, alt, merged, ['character_config']);
  return attachModel(config, models, filename, alt, app.paths.modelDict);
}
