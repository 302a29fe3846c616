import { loadAppConfig, type AppConfig } from '../../src/config/app-config.js';
import { REPO_ROOT } from './fixture-root.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer, type SessionActorOverrides, type StartOptions } from '../../src/server/start-server.js';

/** The real server on an ephemeral loopback port, with its config read from `root`. */
export async function startTestServer(
  root: string,
  options: Partial<Omit<StartOptions, 'app'>> & {
    mutate?: (app: AppConfig) => void;
    /** Session actor replacements that need the loaded config (e.g. a slowed-down real loader). */
    actorsFor?: (app: AppConfig) => SessionActorOverrides;
  } = {},
): Promise<RunningServer & { app: AppConfig }> {
  const app = await loadAppConfig({ root, packageRoot: REPO_ROOT });
  options.mutate?.(app);
  const { actorsFor, mutate: _mutate, ...rest } = options;
  const server = await startServer({
    app,
    host: '127.0.0.1',
    port: 0,
    logger: createLogger({ silent: process.env.TEST_LOGS !== '1', level: 'debug' }),
    ...rest,
    sessionActors: { ...rest.sessionActors, ...actorsFor?.(app) },
  });
  return Object.assign(server, { app });
}
