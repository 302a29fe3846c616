import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { tempFileFor } from './history-paths.js';

/** A file's size and modification time, by which a later look tells whether it changed. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

export interface DurableWriteOptions {
  /**
   * Wraps the part of the write that changes the folder (the temporary file and the rename), so that whoever keeps
   * track of the folder can tell this change from somebody else's.
   */
  changingFolder?: <T>(dir: string, change: () => Promise<T>) => Promise<T>;
  /** Told of the temporary file while it exists, so that nobody takes it for one a crash left behind. */
  onTempFile?: (temp: string, exists: boolean) => void;
}

/**
 * Replaces `file` with `text` so that a crash at any moment leaves either the old content or the new, never a part:
 * the text goes to a temporary file in the same folder, which is synced and renamed over the file, and then the
 * folder is synced so that the rename itself is on disk. Resolves with the new file's stamp once all of it is.
 * A failed write removes its temporary file and leaves the old content as it was.
 */
export async function writeFileDurably(file: string, text: string, options: DurableWriteOptions = {}): Promise<FileStamp> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = tempFileFor(file);
  const changingFolder = options.changingFolder ?? ((_dir, change) => change());
  options.onTempFile?.(temp, true);
  const stamp = await changingFolder(dir, async () => {
    try {
      const handle = await open(temp, 'w');
      let written: FileStamp;
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
        written = await handle.stat();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      return written;
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    } finally {
      options.onTempFile?.(temp, false);
    }
  });
  await syncFolder(dir);
  return stamp;
}

/** Makes the folder's entries (a rename, a new file) durable. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
