import { createActor, fromPromise, toPromise, type Actor } from 'xstate';
import {
  assetDownloadMachine,
  type AssetDownloadInput,
  type AssetDownloadOutput,
  type InstallRequest,
  type InstallResult,
  type ModelInstallRequest,
} from '../../machines/asset-download.machine.js';

/** One download of a run: its actor's input when it starts, and what to do with the outcome. */
export interface RunStep {
  start(): AssetDownloadInput;
  /** `stopped`: the run was stopped (Ctrl-C), so the failure is not one to report. */
  finish(output: AssetDownloadOutput, stopped: boolean): void;
}

export interface DownloadRun {
  done: Promise<AssetDownloadOutput[]>;
  /** Stops the download in progress and skips the rest; resolves once its partial files are removed. */
  stop(): Promise<void>;
}

type Install = (request: InstallRequest | ModelInstallRequest, signal: AbortSignal) => Promise<InstallResult>;

/**
 * Runs downloads one after another, each owned by an `assetDownload` actor (its deadline, its `install` child), the
 * first start's web client and sample model (first-start.ts) as its models (model-downloads.ts). Stopping the run
 * stops the actor in progress, whose install removes its partial files; `stop()` resolves when that is done.
 */
export function runDownloadSteps(steps: readonly RunStep[], install: Install): DownloadRun {
  let current: Actor<typeof assetDownloadMachine> | undefined;
  let stopped = false;
  let installing: Promise<unknown> = Promise.resolve();
  const machine = assetDownloadMachine.provide({
    actors: {
      install: fromPromise<InstallResult, InstallRequest | ModelInstallRequest>(({ input, signal }) => {
        const running = install(input, signal);
        installing = running.catch(() => undefined);
        return running;
      }),
    },
  });
  const done = (async () => {
    const outputs: AssetDownloadOutput[] = [];
    for (const step of steps) {
      if (stopped) break;
      const input = step.start();
      current = createActor(machine, { input });
      current.start();
      // A stopped actor resolves with no output.
      const output: AssetDownloadOutput = (await toPromise(current).catch((err: unknown) => ({ title: input.title, installed: false, error: String(err) }))) ?? {
        title: input.title,
        installed: false,
        error: 'stopped',
      };
      current = undefined;
      outputs.push(output);
      step.finish(output, stopped);
    }
    return outputs;
  })();
  return {
    done,
    async stop() {
      stopped = true;
      current?.stop();
      await installing;
    },
  };
}
