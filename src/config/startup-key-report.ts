import path from 'node:path';
import type { AppConfig } from './app-config.js';
import { listAlternateFiles } from './character-files.js';
import { ignoredUpstreamKeys, reportIgnoredKeys } from './unsupported-keys.js';
import { readYamlFile } from './yaml-file.js';

/**
 * Startup: what conf.yaml and every character file turn on that this server accepts but does not act on, one line
 * each with what happens instead (then conf.yaml's unknown keys). A character file that does not parse is left to
 * the switch that loads it, which names the error.
 */
export async function reportConfigKeysAtStartup(app: AppConfig, logger: { warn(message: string): unknown }): Promise<void> {
  reportIgnoredKeys(path.basename(app.paths.configFile), app, logger);
  for (const file of await listAlternateFiles(app.paths.configAltsDir)) {
    const source = await readYamlFile(path.join(app.paths.configAltsDir, file), { root: app.paths.root }).catch(() => undefined);
    if (source) reportIgnoredKeys(file, { unsupported: [], ignored: ignoredUpstreamKeys(source.data) }, logger);
  }
}
