import type { ModelFiles } from '../model-files.js';
import path from 'node:path';
import { SherpaWorkerHost, type HostLog, type SherpaModelSpec } from './sherpa-worker-host.js';

/**
 * The loaded models, keyed by what they load (never by client): sessions that configure the same model share one
 * thread. The server closes them all when it stops; a request after that starts a fresh host.
 */
const hosts = new Map<string, SherpaWorkerHost>();

export function sherpaHostKey(spec: SherpaModelSpec): string {
  return JSON.stringify([spec.kind, spec.config]);
}

export function sharedSherpaHost(key: string, spec: SherpaModelSpec): SherpaWorkerHost {
  let host = hosts.get(key);
  if (!host) {
    host = new SherpaWorkerHost(spec);
    hosts.set(key, host);
  }
  return host;
}

export async function closeSherpaHosts(): Promise<void> {
  const all = [...hosts.values()];
  hosts.clear();
  await Promise.all(all.map((h) => h.close()));
}

/** An engine backed by a shared sherpa-onnx host: it can start downloading and loading before the first request. */
export interface PreparableEngine extends ModelFiles {
  prepare(log: HostLog): void;
}

export function isPreparable(engine: unknown): engine is PreparableEngine {
  return typeof (engine as Partial<PreparableEngine> | undefined)?.prepare === 'function';
}

/**
 * The folder to download when a model file is missing: only a folder directly inside a `models/` folder (upstream's
 * `./models/<release name>/…` layout), so that a typo elsewhere is reported, not "downloaded".
 */
export function downloadableFolder(modelFile: string): string | undefined {
  const folder = path.dirname(modelFile);
  return path.basename(path.dirname(folder)) === 'models' ? folder : undefined;
}
