import path from 'node:path';
import type { InstallRequest } from '../../machines/asset-download.machine.js';
import { runDownloadSteps, type DownloadRun, type RunStep } from './download-run.js';
import type { AppConfig } from '../config/app-config.js';
import type { Logger } from '../observability/logger.js';
import { megabytes, pathExists } from './fs-helpers.js';
import { archiveTopFolder, archiveUrl, loadManifest } from './download-manifest.js';
import { installArchive } from './install-archive.js';
import { progressBar } from './progress-bar.js';
import type { DownloadManifest } from './manifest-format.js';

/** The manifests shipped in `manifests/` of the server's package. */
export const WEB_CLIENT_MANIFEST = 'open-llm-vtuber-web.json';
export const SHIZUKU_MANIFEST = 'live2d-shizuku.json';

export interface DownloadPlanItem {
  manifest: DownloadManifest;
  target: string;
  url: string;
  /** What a person types to do the same by hand. */
  byHand: string;
}

export interface FirstStartOptions {
  app: AppConfig;
  /** Where `manifests/` is. */
  packageRoot: string;
  logger: Logger;
  /** Re-fetch even when the folders exist (`npm run client:update`). */
  update?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where the progress bar goes (a bar only when it is a TTY). */
  out?: NodeJS.WriteStream;
}

const shown = (root: string, p: string) => path.relative(root, p).split(path.sep).join('/') || '.';

export function downloadBaseUrl(app: AppConfig, env: NodeJS.ProcessEnv = process.env): string {
  return env.VAS_DOWNLOAD_BASE_URL || app.system.download_base_url;
}

function byHandCommand(root: string, target: string, url: string, manifest: DownloadManifest): string {
  const folder = [archiveTopFolder(manifest), ...manifest.folder.split('/').filter(Boolean)];
  const dir = shown(root, target);
  const member = manifest.folder ? ` ${folder.join('/')}` : '';
  return `mkdir -p ${dir} && curl -fL ${url} | tar -xz --strip-components=${folder.length} -C ${dir}${member}`;
}

/**
 * What the first start fetches: the web client when `frontend/` is missing, and the sample model `shizuku` when
 * model_dict.json uses it and `live2d-models/shizuku/` is missing (with `update`, both regardless).
 */
export async function planDownloads(options: FirstStartOptions): Promise<DownloadPlanItem[]> {
  const { app } = options;
  const base = downloadBaseUrl(app, options.env);
  const manifests = path.join(options.packageRoot, 'manifests');
  const plan: DownloadPlanItem[] = [];
  const add = async (file: string, target: string) => {
    const manifest = await loadManifest(path.join(manifests, file));
    const url = archiveUrl(base, manifest);
    plan.push({ manifest, target, url, byHand: byHandCommand(app.paths.root, target, url, manifest) });
  };
  if (options.update || !(await pathExists(app.paths.frontend))) await add(WEB_CLIENT_MANIFEST, app.paths.frontend);
  const shizuku = path.join(app.paths.live2dModels, 'shizuku');
  const usesShizuku = app.models.some((m) => /^\/?live2d-models\/shizuku\//.test(m.url));
  if (usesShizuku && (options.update || !(await pathExists(shizuku)))) await add(SHIZUKU_MANIFEST, shizuku);
  return plan;
}

export type FirstStartRun = DownloadRun;

/**
 * Runs the planned downloads one after another, each owned by an `assetDownload` actor with a deadline. A failure
 * is one log line with the command to do it by hand; the server starts either way.
 */
export function runDownloads(plan: DownloadPlanItem[], options: FirstStartOptions): FirstStartRun {
  const { app, logger } = options;
  const steps: RunStep[] = plan.map((item) => {
    const where = `${shown(app.paths.root, item.target)}/`;
    let bar: ReturnType<typeof progressBar>;
    return {
      start() {
        bar = progressBar(`downloading the ${item.manifest.title}`, options.out);
        logger.info(`downloading the ${item.manifest.title} into ${where} from ${item.url}`);
        return {
          title: item.manifest.title,
          deadlineMs: app.system.download_timeout_seconds * 1000,
          request: { url: item.url, manifest: item.manifest, target: item.target, onProgress: bar?.update },
        };
      },
      finish(output, stopped) {
        bar?.finish();
        if (output.installed) {
          const mb = megabytes(output.result?.bytes ?? 0);
          logger.info(`installed the ${item.manifest.title} in ${where} (${output.result?.files} files checked, ${mb} MB)`);
          if (item.manifest.license) logger.info(`${item.manifest.title}: licence: ${item.manifest.license}`);
        } else if (!stopped) {
          logger.warn(
            `could not download the ${item.manifest.title}: ${output.error}. ` +
              `The server runs without it; to install it by hand: ${item.byHand} (or run: npm run client:update)`,
          );
        }
      },
    };
  });
  return runDownloadSteps(steps, (request, signal) => installArchive(request as InstallRequest, signal));
}
