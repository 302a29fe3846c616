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

/**
 * A model the server downloads for the configuration that uses it (manifests/models/): one file (a GGUF) or one
 * release archive holding a model folder (sherpa-onnx's .tar.bz2), pinned by URL, size and SHA-256, installed
 * atomically at `target` (relative to the folder the server runs in).
 */
export const modelManifestSchema = z.object({
  /** What the character loses without it, for what the talker says: its mind, ears or voice. */
  role: z.enum(['mind', 'ears', 'voice']),
  /** Short name for the log: "Qwen2.5 0.5B Instruct (Q4_K_M)". */
  title: z.string().min(1),
  kind: z.enum(['file', 'archive']),
  url: z.url({ protocol: /^https?$/ }),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Where it goes: a file path for `file`, a folder for `archive` ('models/…'). */
  target: z.string().regex(/^models\/[\w.@+-]+$/),
  /** `archive`: the folder inside the archive that becomes `target`, and files that must be in it. */
  top: z.string().optional(),
  requires: z.array(z.string().min(1)).default([]),
  license: z.string().min(1),
  /** Where the pinned facts and the figures that chose it come from. */
  source: z.string().min(1),
});

export type ModelManifest = z.infer<typeof modelManifestSchema>;
