import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { downloadManifestSchema, type DownloadManifest } from './manifest-format.js';

// Reading, building and checking manifests; their format is manifest-format.ts.

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
