import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listTree, sha256File } from '../downloads/download-manifest.js';
import { downloadManifestSchema, type DownloadManifest } from '../downloads/manifest-format.js';

/**
 * `npm run manifests:build -- <folder> <out.json> <title> <owner/repo> <commit> <folder-in-archive> [license] [--exclude name]`
 * writes the manifest of a checked copy of a pinned commit (path, SHA-256 and size of every file).
 */
async function main(argv: string[]) {
  const excluded = new Set<string>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--exclude') excluded.add(argv[++i]!);
    else args.push(argv[i]!);
  }
  const [dir, out, title, repository, commit, folder, license] = args;
  if (!dir || !out || !title || !repository || !commit || folder === undefined) {
    process.stderr.write('usage: build-manifest <folder> <out.json> <title> <owner/repo> <commit> <folder-in-archive> [license] [--exclude <path>]\n');
    return 2;
  }
  const { files, others } = await listTree(dir);
  if (others.length > 0) throw new Error(`not plain files: ${others.join(', ')}`);
  const entries = [];
  for (const file of files.filter((f) => !excluded.has(f))) {
    const full = path.join(dir, file);
    entries.push({ path: file, sha256: await sha256File(full), bytes: (await stat(full)).size });
  }
  const manifest: DownloadManifest = downloadManifestSchema.parse({ title, repository, commit, folder, ...(license ? { license } : {}), files: entries });
  await writeFile(out, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(`${out}: ${entries.length} files\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code));
