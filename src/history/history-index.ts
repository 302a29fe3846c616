import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EncodedJsonArray } from '../protocol/encoded-json.js';
import type { FileStamp } from './durable-file.js';
import type { FileQueues } from './file-queues.js';
import { FolderIndex, type ListPreview } from './folder-index.js';
import type { HistoryEntry } from './history-format.js';
import type { HistoryFileObserver, HistoryFiles } from './history-files.js';
import { confDir, confUidOfFile, historyFile, historyUidOf, isTempFileName, uidOfFile } from './history-paths.js';
import { damagedRecord, mtimeOf, sameFile, summarize } from './history-records.js';

/** With other instances in the folder, a temporary file untouched this long is a crashed write's leftover (a live write renames its file within seconds). */
export const STALE_TEMP_MS = 60_000;

/** Empty histories (metadata only) are not listed; they are removed once this old, never while a session may use them. */
export const EMPTY_HISTORY_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * `history-list` answered from a per-character index (folder-index.ts), kept current by the store's own reads and
 * writes (it observes HistoryFiles) and reconciled with the disk only when the folder changed behind the store's back
 * (a file copied in or deleted by hand, another process): listing N histories does not read N files. The index holds
 * one message per history, so its memory stays proportional to the number of files, not to their size.
 *
 * Work on a file goes through the same per-file queues as the store's writes, so a file is never summarized halfway
 * through a write of it, and an empty history is removed only if nobody wrote to it meanwhile.
 */
export class HistoryIndex implements HistoryFileObserver {
  /** Indexes by conf_uid (a character's folder), built on the first list of that folder. */
  private readonly folders = new Map<string, FolderIndex>();

  constructor(
    private readonly root: string,
    private readonly queues: FileQueues,
    private readonly files: HistoryFiles,
    /** A temporary file is a crash's leftover once this old (0: any not being written by this process). */
    private readonly options: { staleTempMs: number } = { staleTempMs: 0 },
  ) {}

  seen(file: string, entries: HistoryEntry[], stamp: FileStamp): void {
    this.folders.get(confUidOfFile(file))?.put(uidOfFile(file), summarize(entries, stamp));
  }

  /** A history the store is about to delete. */
  dropped(confUid: string, historyUid: string): void {
    this.folders.get(confUid)?.put(historyUid, undefined);
  }

  /**
   * Runs our own change to a folder (a temporary file, a rename, an unlink) so that the index can tell it from somebody
   * else's: if the folder was as we last saw it when our changes began, its mtime once they are all done is ours; if
   * not, the recorded time stays stale and the next list reconciles the index with the disk.
   */
  async changingFolder<T>(dir: string, change: () => Promise<T>): Promise<T> {
    const folder = this.folders.get(path.basename(dir));
    if (!folder) return change();
    if (folder.ownChanges++ === 0) {
      const before = await stat(dir).catch(() => undefined);
      folder.trusted = before !== undefined && before.mtimeMs === folder.dirMtimeMs;
    }
    try {
      return await change();
    } finally {
      if (--folder.ownChanges === 0 && folder.trusted) {
        const after = await stat(dir).catch(() => undefined);
        // Another change of ours may have begun meanwhile: it takes over the bookkeeping.
        if (after && folder.ownChanges === 0) folder.dirMtimeMs = after.mtimeMs;
      }
    }
  }

  /**
   * Another instance changed this file (it said so through Redis): its record is read again or dropped, and the
   * folder's time as it is now is taken as known, so the next list does not compare the whole folder. A folder not
   * listed yet is read whole at its first list anyway.
   */
  async learn(confUid: string, historyUid: string, file: string, deleted: boolean): Promise<void> {
    const folder = this.folders.get(confUid);
    if (!folder) return;
    if (deleted) folder.put(historyUid, undefined);
    else await this.summarizeFile(folder, historyUid, file);
    const info = await stat(path.dirname(file)).catch(() => undefined);
    if (info && folder.ownChanges === 0) folder.dirMtimeMs = info.mtimeMs;
  }

  /**
   * The folder's list, encoded: histories with at least one message, newest first. Damaged files are skipped (and
   * left alone). Empty ones (upstream wrote one per page open) are not listed, and removed only when older than
   * EMPTY_HISTORY_TTL_MS, so a history a session has just created is never deleted under it (docs/upstream-defects.md, U36).
   */
  async listEncoded(confUid: string, options: { preview?: ListPreview; now?: number } = {}): Promise<EncodedJsonArray> {
    const folder = await this.currentIndex(confUid);
    await this.removeOldEmpty(confUid, folder, options.now ?? Date.now());
    const { preview } = options;
    const key = preview?.key ?? '';
    folder.order();
    let list = folder.use(key);
    while (!list) {
      if (folder.making) await folder.making;
      else {
        folder.making = this.makeList(confUid, folder, preview).finally(() => (folder.making = null));
        await folder.making;
      }
      list = folder.use(key);
    }
    // The same key shows the same text; the latest preview is kept for the changes to come.
    list.preview = preview;
    return list.entries.encoded();
  }

  /** The folder's index, reconciled with the disk when the folder changed behind the store's back. */
  private async currentIndex(confUid: string): Promise<FolderIndex> {
    const dir = confDir(this.root, confUid);
    const info = await stat(dir).catch(() => undefined);
    const mtimeMs = info?.mtimeMs ?? -1;
    let folder = this.folders.get(confUid);
    if (!folder) {
      // First look: every file is read once (gathering the latest messages for the first list), and temporary files
      // left by a crash are removed.
      folder = new FolderIndex(mtimeMs);
      this.folders.set(confUid, folder);
      if (info) await this.reconcile(confUid, folder, { removeTemps: true });
    } else if (mtimeMs !== folder.dirMtimeMs) {
      // Somebody else added, removed or replaced files: names are compared, and every known file's size and time.
      folder.dirMtimeMs = mtimeMs;
      if (info) await this.reconcile(confUid, folder, { removeTemps: false });
      else folder.clear();
    }
    return folder;
  }

  /**
   * Brings the index in line with the folder: new files are read once, vanished ones dropped, files whose size or time
   * changed read again. A first look also removes temporary files left by a crash (none of this store's own writes).
   */
  private async reconcile(confUid: string, folder: FolderIndex, options: { removeTemps: boolean }) {
    const dir = confDir(this.root, confUid);
    const names = await readdir(dir).catch(() => [] as string[]);
    const present = new Set<string>();
    for (const name of names) {
      if (options.removeTemps && isTempFileName(name)) {
        const temp = path.join(dir, name);
        // Another instance sharing the folder (system_config.cluster) may be writing it: then only a temporary file
        // nobody touched for a while is a crash's leftover.
        const info = await stat(temp).catch(() => undefined);
        if (!this.files.isWriting(temp) && info && Date.now() - info.mtimeMs >= this.options.staleTempMs) await rm(temp, { force: true }).catch(() => undefined);
        continue;
      }
      const uid = historyUidOf(name);
      if (uid === undefined) continue;
      present.add(uid);
      const known = folder.files.get(uid);
      const file = path.join(dir, name);
      if (known !== undefined) {
        const info = await stat(file).catch(() => undefined);
        if (info && sameFile(known, info)) continue;
      }
      await this.queues.run(file, () => this.summarizeFile(folder, uid, file));
    }
    for (const uid of folder.files.keys()) if (!present.has(uid)) folder.put(uid, undefined);
  }

  private async summarizeFile(folder: FolderIndex, uid: string, file: string) {
    try {
      const entries = await this.files.read(file);
      const info = await stat(file);
      folder.put(uid, summarize(entries, info));
    } catch {
      const info = await stat(file).catch(() => undefined);
      folder.put(uid, info ? { record: damagedRecord(info) } : undefined);
    }
  }

  /**
   * Makes the folder's list for a way of showing it that has none yet. The latest messages come from the first look
   * at the folder, or else from reading the listed files again: a new way of showing a folder is rare (the server
   * shows a character's histories one way), and keeping every latest message twice, raw beside encoded, would double
   * the index's memory.
   */
  private async makeList(confUid: string, folder: FolderIndex, preview: ListPreview | undefined) {
    const gathered = (folder.gathered ??= new Map());
    try {
      for (;;) {
        // Writes meanwhile put their own latest message; a file that cannot be read any more leaves the list.
        const missing = folder.order().filter((uid) => !gathered.has(uid));
        if (missing.length === 0) break;
        for (const uid of missing) {
          const file = historyFile(this.root, confUid, uid);
          await this.queues.run(file, async () => {
            if (!gathered.has(uid) && folder.files.get(uid) !== undefined) await this.summarizeFile(folder, uid, file);
          });
        }
      }
      folder.addShown(preview, (uid) => gathered.get(uid)!);
    } finally {
      folder.gathered = null;
    }
  }

  /** Removes the folder's empty histories older than EMPTY_HISTORY_TTL_MS, each only if nobody wrote to it meanwhile. */
  private async removeOldEmpty(confUid: string, folder: FolderIndex, now: number) {
    for (const uid of [...folder.empty]) {
      const record = folder.files.get(uid);
      if (record === undefined || now - mtimeOf(record) <= EMPTY_HISTORY_TTL_MS) continue;
      const file = historyFile(this.root, confUid, uid);
      await this.queues.run(file, async () => {
        if (folder.files.get(uid) !== record) return;
        this.files.forget(file);
        folder.put(uid, undefined);
        await this.changingFolder(path.dirname(file), () => rm(file, { force: true }));
      });
    }
  }
}
