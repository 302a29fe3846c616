import net from 'node:net';
import type { InspectionEvent } from 'xstate';
import type { Logger } from './logger.js';

/**
 * Live inspection in the Stately inspector (INSPECT=1, or system_config.inspect): a local relay (the package's
 * inspector server, on `port`) and a WebSocket inspector that sends it every inspection event. Opening
 * http://localhost:<port> shows the Stately inspector (it loads from stately.ai) fed by this server.
 *
 * ESM-only and optional, so it is imported from the entry point alone. `stop()` closes both, so nothing retries
 * after shutdown.
 */
export interface StatelyInspection {
  inspect: (ev: InspectionEvent) => void;
  stop(): void;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, () => probe.close(() => resolve(true)));
  });
}

export async function startStatelyInspection(port: number, logger: Logger): Promise<StatelyInspection | undefined> {
  if (!(await portIsFree(port))) {
    logger.error(`inspection: port ${port} is in use; set system_config.inspect_port (or INSPECT_PORT) to a free port`);
    return undefined;
  }
  // An optional dependency: loaded only when inspection is asked for, and possibly not installed (--omit=optional).
  let inspectServer: typeof import('@statelyai/inspect/server');
  let inspectClient: typeof import('@statelyai/inspect');
  try {
    inspectServer = await import('@statelyai/inspect/server');
    inspectClient = await import('@statelyai/inspect');
  } catch (err) {
    logger.error(`inspection: the optional package @statelyai/inspect is not installed (${(err as Error).message}); run: npm install @statelyai/inspect`);
    return undefined;
  }
  const { createInspectorServer } = inspectServer;
  const { createWebSocketInspector } = inspectClient;
  const relay = createInspectorServer({ port, autoOpen: false });
  const inspector = createWebSocketInspector({ url: `ws://localhost:${port}` });
  logger.info(`inspection: open http://localhost:${port} in a browser to watch every actor in the Stately inspector (relay ws://localhost:${port})`);
  return {
    inspect: (ev) => inspector.inspect.next?.(ev),
    stop() {
      inspector.stop();
      relay.stop();
    },
  };
}
