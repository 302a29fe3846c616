import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
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

export async function loadManifest(file: string): Promise<DownloadManifest> {
  return downloadManifestSchema.parse(JSON.parse(await readFile(file, 'utf8')));
}

/** How GitHub serves a commit's tree as a tar.gz: one top folder `<name>-<commit>/`. */
export function archiveUrl(baseUrl: string, manifest: DownloadManifest): string {
  return `${baseUrl.replace(/\/+$/, '')}/${manifest.repository}/archive/${manifest.commit}.tar.gz`;
}

export function archiveTopFolder(manifest: DownloadManifest): string {
  return `${manifest.repository.split('/')[1]}-${manifest.commit}`;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Files below `dir` as POSIX paths relative to it, sorted; anything but plain files and folders is reported as is. */
export async function listTree(dir: string): Promise<{ files: string[]; others: string[] }> {
  const files: string[] = [];
  const others: string[] = [];
  async function walk(current: string, rel: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const relName = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(current, entry.name), relName);
      else if (entry.isFile()) files.push(relName);
      else others.push(relName);
    }
  }
  await walk(dir, '');
  return { files: files.sort(), others: others.sort() };
}

/** Every difference between the folder and the manifest ([] when they match exactly). */
export async function compareWithManifest(dir: string, manifest: DownloadManifest): Promise<string[]> {
  const problems: string[] = [];
  const { files, others } = await listTree(dir);
  for (const other of others) problems.push(`${other}: not a plain file`);
  const present = new Set(files);
  const expected = new Set(manifest.files.map((f) => f.path));
  for (const file of files) if (!expected.has(file)) problems.push(`${file}: not in the manifest`);
  for (const entry of manifest.files) {
    if (!present.has(entry.path)) {
      problems.push(`${entry.path}: missing`);
      continue;
    }
    const actual = await sha256File(path.join(dir, entry.path));
    if (actual !== entry.sha256) problems.push(`${entry.path}: SHA-256 ${actual}, expected ${entry.sha256}`);
  }
  return problems;
}
