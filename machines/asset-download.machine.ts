import { assign, fromPromise, setup } from 'xstate';
import type { DownloadManifest, ModelManifest } from '../src/downloads/manifest-format.js';

/**
 * One first-start download (the web client, a sample Live2D model, a model of the configuration): the `install` child fetches, checks and
 * installs the archive; the machine bounds it with `downloadDeadline`. Expiry or a stop of this actor (Ctrl-C
 * during the download) stops `install`, whose signal aborts the request and removes the partial files.
 *
 *   downloading → installed | failed
 */

/** The `install` slot (src/downloads/install-archive.ts): fetch the archive, check it against its manifest, install it. */
export interface InstallRequest {
  url: string;
  manifest: DownloadManifest;
  /** The folder to create (frontend/, live2d-models/shizuku/); replaced only after the new copy checked out. */
  target: string;
  /** Bytes received so far, and the total when the server says it. */
  onProgress?: (received: number, total: number | undefined) => void;
}

/** The `install` slot for a model (src/downloads/install-model.ts): one file or one archive, checked by SHA-256. */
export interface ModelInstallRequest {
  url: string;
  manifest: ModelManifest;
  /** The file or folder to create. */
  target: string;
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface InstallResult {
  files: number;
  bytes: number;
}

export interface AssetDownloadInput {
  /** For messages: "web client", "Live2D model shizuku". */
  title: string;
  request: InstallRequest | ModelInstallRequest;
  deadlineMs: number;
}

export interface AssetDownloadOutput {
  title: string;
  installed: boolean;
  result?: InstallResult;
  /** Why it failed, for a person. */
  error?: string;
}

interface AssetDownloadContext extends AssetDownloadInput {
  result?: InstallResult;
  error?: string;
}

export const assetDownloadMachine = setup({
  types: {
    context: {} as AssetDownloadContext,
    input: {} as AssetDownloadInput,
    output: {} as AssetDownloadOutput,
  },
  actors: {
    install: fromPromise<InstallResult, InstallRequest | ModelInstallRequest>(() => {
      throw new Error('actor "install" must be provided with machine.provide()');
    }),
  },
  delays: {
    downloadDeadline: ({ context }) => context.deadlineMs,
  },
  actions: {
    /** The archive is installed: keep what `install` reports. */
    keepResult: assign({ result: (_, result: InstallResult) => result }),
    /** `install` failed: keep why, for a person. */
    noteFailure: assign({ error: (_, { error }: { error: unknown }) => (error instanceof Error ? error.message : String(error)) }),
    /** The download ran past its deadline: say so. */
    noteTimeout: assign({ error: ({ context }) => `it did not finish within ${+(context.deadlineMs / 1000).toFixed(1)} s` }),
  },
}).createMachine({
  id: 'assetDownload',
  context: ({ input }) => ({ ...input }),
  initial: 'downloading',
  states: {
    downloading: {
      invoke: {
        src: 'install',
        input: ({ context }) => context.request,
        onDone: { target: 'installed', actions: { type: 'keepResult', params: ({ event }) => event.output } },
        onError: { target: 'failed', actions: { type: 'noteFailure', params: ({ event }) => ({ error: event.error }) } },
      },
      after: {
        downloadDeadline: { target: 'failed', actions: 'noteTimeout' },
      },
    },
    installed: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({
    title: context.title,
    installed: context.result !== undefined,
    ...(context.result ? { result: context.result } : {}),
    ...(context.error ? { error: context.error } : {}),
  }),
});
