import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAppConfig } from './config/app-config.js';
import { ConfigError } from './config/config-error.js';
import type { CliArgs } from './cli-args.js';
import { createLogger } from './observability/logger.js';
import { startServer } from './server/start-server.js';
import { startStatelyInspection } from './observability/stately-inspector.js';
import { planDownloads, runDownloads } from './downloads/first-start.js';
import { findMissingModels } from './assets/model-files-check.js';
import { reportConfigKeysAtStartup } from './config/startup-key-report.js';
import { planModelDownloads, runModelDownloads } from './downloads/model-downloads.js';
import { buildCharacterRuntime } from './session/character-runtime.js';
import type { AppConfig } from './config/app-config.js';
import type { Logger } from './observability/logger.js';

/** The folder holding this server's package.json (and its prompts/), from src/ or dist/src/. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Bound on a graceful stop: sessions close their sockets (1 s grace each, in parallel), then we exit regardless. */
const SHUTDOWN_DEADLINE_MS = 1500;

/** The server as `npm start` runs it, once the arguments are read (src/main.ts). */
export async function runServer(args: CliArgs): Promise<number | undefined> {
  const logger = createLogger();
  let app;
  try {
    app = await loadAppConfig({ configPath: args.config, packageRoot: packageRoot() });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error(`configuration error in ${err.message}`);
      return 1;
    }
    throw err;
  }
  const configName = path.basename(app.paths.configFile);
  await reportConfigKeysAtStartup(app, logger);

  const downloadsOff = args.noDownloads || process.env.VAS_NO_DOWNLOADS === '1' || !app.system.first_start_downloads;
  if (args.fetchModels) return fetchModels(app, logger);
  if (args.updateDownloads || !downloadsOff) {
    const options = { app, packageRoot: packageRoot(), logger, update: args.updateDownloads };
    const plan = await planDownloads(options);
    const run = runDownloads(plan, options);
    let interrupted = false;
    const interrupt = () => {
      interrupted = true;
      logger.info('download stopped; nothing half-written is left');
      void run.stop().then(() => process.exit(130));
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const outputs = await run.done;
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    if (interrupted) return new Promise<never>(() => {}); // exits once the partial files are gone
    if (args.updateDownloads) return outputs.every((o) => o.installed) ? 0 : 1;
  }
  for (const missing of await findMissingModels(app.models, app.paths.live2dModels, app.paths.root)) {
    // A warning for the model the default character shows; a note for the others (a character may still use them).
    const say = missing.name === app.baseCharacter.config.live2d_model_name ? 'warn' : 'info';
    logger[say](`model_dict.json: the Live2D model "${missing.name}" has no files (${missing.file} is missing): put its files in ${missing.folder}`);
  }

  const wantsInspection = process.env.INSPECT === '1' || app.system.inspect;
  const inspection = wantsInspection
    ? await startStatelyInspection(Number(process.env.INSPECT_PORT ?? app.system.inspect_port), logger)
    : undefined;

  let server;
  let models;
  try {
    // The models the default character runs (the local LLM, speech) that are missing: planned before the server
    // starts, so its engines know what is coming; fetched in the background while the page already works.
    models = await planModelDownloads({ app, packageRoot: packageRoot(), needed: await neededModelFiles(app), off: downloadsOff });
    server = await startServer({ app, logger, host: args.host, port: args.port, inspect: inspection?.inspect, models });
  } catch (err) {
    inspection?.stop();
    logger.error(err instanceof ConfigError ? `configuration error in ${err.message}` : (err as Error).message);
    return 1;
  }
  logger.info(
    `character "${app.baseCharacter.config.conf_name}" (${configName}); listening on ${server.url} — WebSocket ${server.wsUrl}`,
  );
  const modelRun = models.list().some((e) => e.state === 'waiting') ? runModelDownloads(models, { app, logger }) : undefined;
  const offNote = models.describePending();
  if (!modelRun && offNote) logger.warn(`the character's models are missing and downloads are off: ${offNote}`);

  const shutdown = (signal: string) => {
    logger.info(`${signal}: stopping every session`);
    const deadline = setTimeout(() => {
      logger.warn('sockets did not close in time; exiting anyway');
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    void Promise.all([server.stop(), modelRun?.stop()]).then(() => {
      inspection?.stop();
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  return undefined;
}

/** The model files of the default character's engines (what the first start may have to fetch). */
async function neededModelFiles(app: AppConfig): Promise<string[]> {
  return (await buildCharacterRuntime(app, app.baseCharacter)).runtime.modelFiles ?? [];
}

/** `--fetch-models`: downloads the missing models of the default character in the foreground; 0 when all are there. */
async function fetchModels(app: AppConfig, logger: Logger): Promise<number> {
  const board = await planModelDownloads({ app, packageRoot: packageRoot(), needed: await neededModelFiles(app), off: false });
  if (board.list().length === 0) {
    logger.info('every model the configuration uses is here');
    return 0;
  }
  const run = runModelDownloads(board, { app, logger });
  const interrupt = () => void run.stop().then(() => process.exit(130));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const outputs = await run.done;
  return outputs.every((o) => o.installed) ? 0 : 1;
}
