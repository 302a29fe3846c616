import path from 'node:path';
import { ConfigError } from './config-error.js';
import { confFileSchema, type ConfFile, type SystemConfig } from './conf-file-schema.js';
import type { CharacterConfig } from './conf-schema.js';
import { isPlainObject } from './deep-merge.js';
import { findModel, loadModelDict } from './model-dict.js';
import type { ModelInfo } from '../protocol/model-info.js';
import { ignoredUpstreamKeys, unsupportedKeys, type IgnoredKey } from './unsupported-keys.js';
import { readYamlFile, validateWith, type YamlSource } from './yaml-file.js';

/** A character ready for a session: its validated config, its Live2D model entry, and the file it came from. */
export interface Character {
  /** The `filename` that `fetch-configs` lists for it (the base config's own file name for conf.yaml). */
  file: string;
  config: CharacterConfig;
  modelInfo: ModelInfo;
}

/** Folders the server reads, all resolved against the working directory as upstream does. */
export interface AppPaths {
  root: string;
  configFile: string;
  configAltsDir: string;
  modelDict: string;
  live2dModels: string;
  backgrounds: string;
  avatars: string;
  frontend: string;
  chatHistory: string;
  /** The audio files of `/tts-ws`, served at `/cache/` and deleted after a while (git-ignored). */
  cache: string;
  /** `prompts/utils/` folders, the user's (working directory) first, then the ones shipped with the server. */
  promptDirs: string[];
}

/** What every session shares: read-only after startup. Per-session state lives in the session actor. */
export interface AppConfig {
  paths: AppPaths;
  system: SystemConfig;
  /** conf.yaml's character, as loaded at startup (each switch re-reads the file). */
  baseCharacter: Character;
  models: ModelInfo[];
  /** Keys the user wrote that this server does not understand yet (reported once at startup). */
  unsupported: string[];
  /** Upstream features turned on in conf.yaml that this server accepts but does not implement (reported once). */
  ignored: IgnoredKey[];
  /** conf.yaml's `live_config` (live-stream chat), as upstream's. */
  live?: ConfFile['live_config'];
}

export interface LoadOptions {
  configPath?: string;
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the server's own files (prompts/) are; defaults to the working directory. */
  packageRoot?: string;
}

export function resolvePaths(system: SystemConfig, configFile: string, root: string, packageRoot = root): AppPaths {
  const promptDirs = [...new Set([path.resolve(root, 'prompts/utils'), path.resolve(packageRoot, 'prompts/utils')])];
  return {
    promptDirs,
    root,
    configFile,
    configAltsDir: path.resolve(root, system.config_alts_dir),
    modelDict: path.resolve(root, 'model_dict.json'),
    live2dModels: path.resolve(root, 'live2d-models'),
    backgrounds: path.resolve(root, 'backgrounds'),
    avatars: path.resolve(root, 'avatars'),
    frontend: path.resolve(root, 'frontend'),
    chatHistory: path.resolve(root, 'chat_history'),
    cache: path.resolve(root, 'cache'),
  };
}

/** Reads and validates the base config file; the raw character_config is kept for merging alternates over it. */
export async function readBaseConfig(configFile: string, root: string, env?: NodeJS.ProcessEnv) {
  const source = await readYamlFile(configFile, { root, env });
  if (!isPlainObject(source.data)) throw new ConfigError(source.file, '', 'expected a mapping with system_config and character_config');
  const parsed = validateWith(confFileSchema, source);
  const rawCharacter = isPlainObject(source.data.character_config) ? source.data.character_config : {};
  return { source, parsed, rawCharacter, unsupported: unsupportedKeys(source.data, parsed), ignored: ignoredUpstreamKeys(source.data) };
}

export function attachModel(
  config: CharacterConfig,
  models: ModelInfo[],
  file: string,
  source: YamlSource,
  modelDictFile: string,
): Character {
  const modelInfo = findModel(models, config.live2d_model_name);
  if (!modelInfo) {
    const names = models.map((m) => m.name).join(', ') || 'none';
    throw new ConfigError(
      source.file,
      'character_config.live2d_model_name',
      `"${config.live2d_model_name}" is not a model in ${path.basename(modelDictFile)} (available: ${names})`,
      source.lineOf(['character_config', 'live2d_model_name']),
    );
  }
  return { file, config, modelInfo };
}

/** Startup: conf.yaml + model_dict.json. Throws ConfigError, which the entry point prints and exits on. */
export async function loadAppConfig(options: LoadOptions = {}): Promise<AppConfig> {
  const root = path.resolve(options.root ?? process.cwd());
  const configFile = path.resolve(root, options.configPath ?? 'conf.yaml');
  const base = await readBaseConfig(configFile, root, options.env);
  const paths = resolvePaths(base.parsed.system_config, configFile, root, options.packageRoot);
  const models = await loadModelDict(paths.modelDict, root);
  const baseCharacter = attachModel(base.parsed.character_config, models, path.basename(configFile), base.source, paths.modelDict);
  return { paths, system: base.parsed.system_config, baseCharacter, models, unsupported: base.unsupported, ignored: base.ignored, live: base.parsed.live_config };
}

