import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelInstallRequest } from '../../machines/asset-download.machine.js';
import { runDownloadSteps, type DownloadRun, type RunStep } from './download-run.js';
import type { AppConfig } from '../config/app-config.js';
import { ConfigError } from '../config/config-error.js';
import type { Logger } from '../observability/logger.js';
import { installModel } from './install-model.js';
import { modelManifestSchema, type ModelManifest } from './manifest-format.js';
import { FETCH_MODELS_COMMAND, ModelBoard, type ModelStatus } from './model-board.js';
import { progressBar } from './progress-bar.js';
import { megabytes, pathExists } from './fs-helpers.js';

/** A model download runs at least this long before its deadline, and longer for a big file (at 256 KiB/s). */
const SLOWEST_RATE = 256 * 1024;


/** Where a model comes from: its pinned URL, or the same path on a mirror (`VAS_MODEL_MIRROR_URL`, e.g. in tests). */
export function modelUrl(manifest: ModelManifest, env: NodeJS.ProcessEnv = process.env): string {
  const mirror = env.VAS_MODEL_MIRROR_URL;
  if (!mirror) return manifest.url;
  const url = new URL(manifest.url);
  return `${mirror.replace(/\/+$/, '')}/${url.host}${url.pathname}`;
}

/** The model manifests shipped in `<packageRoot>/manifests/models/`, each checked (a bad one names its file). */
export async function loadModelManifests(dir: string): Promise<ModelManifest[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  const manifests: ModelManifest[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const parsed = modelManifestSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(file, issue.path.join('.') || '(top)', issue.message);
    }
    manifests.push(parsed.data);
  }
  return manifests;
}

/**
 * The board of the models the configuration needs (`needed`: the model files of its engines) that a manifest
 * provides and that are missing (all of them again with `update`): `waiting` to be downloaded, or `off` when
 * downloads are off. Models nobody needs are not fetched.
 */
export async function planModelDownloads(options: { app: AppConfig; packageRoot: string; needed: readonly string[]; off: boolean; update?: boolean }): Promise<ModelBoard> {
  const board = new ModelBoard();
  // VAS_MODEL_MANIFESTS names another folder of manifests (tests, a mirror with its own builds).
  const dir = process.env.VAS_MODEL_MANIFESTS || path.join(options.packageRoot, 'manifests', 'models');
  for (const manifest of await loadModelManifests(dir)) {
    const target = path.resolve(options.app.paths.root, manifest.target);
    const used = options.needed.some((f) => path.resolve(f) === target || path.resolve(f).startsWith(target + path.sep));
    if (!used || (!options.update && (await pathExists(target)))) continue;
    board.add(manifest, target, options.off ? 'off' : 'waiting');
  }
  return board;
}

function byHand(root: string, entry: ModelStatus, url: string): string {
  const into = path.relative(root, path.dirname(entry.target)) || '.';
  return entry.manifest.kind === 'file'
    ? `curl -fL -o ${path.relative(root, entry.target)} ${url}`
    : `mkdir -p ${into} && curl -fL ${url} | tar -xj -C ${into}`;
}

export type ModelDownloadRun = DownloadRun;

/**
 * Downloads the board's waiting models one after another, smallest first (the voice and the ears come before the
 * mind, so that by the time the mind is here the rest is too), each owned by an `assetDownload` actor with a
 * deadline. The board follows each download's progress; a failure is one log line with the command to do it by hand.
 */
export function runModelDownloads(board: ModelBoard, options: { app: AppConfig; logger: Logger; env?: NodeJS.ProcessEnv; out?: NodeJS.WriteStream }): ModelDownloadRun {
  const { app, logger } = options;
  const queue = board.list().filter((e) => e.state === 'waiting').sort((a, b) => a.manifest.bytes - b.manifest.bytes);
  const steps: RunStep[] = queue.map((entry) => {
    const { manifest } = entry;
    const url = modelUrl(manifest, options.env);
    const where = path.relative(app.paths.root, entry.target);
    let bar: ReturnType<typeof progressBar>;
    return {
      start() {
        bar = progressBar(`downloading ${manifest.title}`, options.out);
        logger.info(`downloading ${manifest.title} (${megabytes(manifest.bytes, 0)} MB) into ${where} from ${url}`);
        entry.state = 'downloading';
        const onProgress = (received: number, total: number | undefined) => {
          entry.received = received;
          bar?.update(received, total);
        };
        const deadlineMs = Math.max(app.system.download_timeout_seconds * 1000, Math.ceil(manifest.bytes / SLOWEST_RATE) * 1000);
        return { title: manifest.title, deadlineMs, request: { url, manifest, target: entry.target, onProgress } };
      },
      finish(output, stopped) {
        bar?.finish();
        if (output.installed) {
          entry.state = 'installed';
          logger.info(`installed ${manifest.title} in ${where} (${megabytes(manifest.bytes)} MB, SHA-256 checked); licence: ${manifest.license}`);
          return;
        }
        entry.state = 'failed';
        entry.error = output.error;
        if (!stopped) {
          logger.warn(`could not download ${manifest.title}: ${output.error}. The server runs without it; to fetch it: ${FETCH_MODELS_COMMAND} (or by hand: ${byHand(app.paths.root, entry, url)})`);
        }
      },
    };
  });
  return runDownloadSteps(steps, (request, signal) => installModel(request as ModelInstallRequest, signal));
}
