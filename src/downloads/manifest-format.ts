import { z } from 'zod';

/**
 * What a first-start download must contain, file by file: shipped in `manifests/`, built from a checked copy of the
 * pinned commit (`npm run manifests:build`). An archive is installed only when every file matches.
 */
export const downloadManifestSchema = z.object({
  /** Short name for the log: "web client", "Live2D model shizuku". */
  title: z.string().min(1),
  /** GitHub owner/name. */
  repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
  commit: z.string().regex(/^[0-9a-f]{40}$/),
  /** The folder of the archive (below its top folder) that is installed; '' for all of it. */
  folder: z.string(),
  /** Licence line the log shows when the download is installed. */
  license: z.string().optional(),
  files: z.array(z.object({ path: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) })).min(1),
});

export type DownloadManifest = z.infer<typeof downloadManifestSchema>;
