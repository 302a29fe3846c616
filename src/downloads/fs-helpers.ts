import { access } from 'node:fs/promises';

/** Whether a file or folder exists (the downloads check their targets before and after). */
export const pathExists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** Bytes as megabytes (MiB) for messages and progress: "468.6". */
export const megabytes = (bytes: number, digits = 1): string => (bytes / 1048576).toFixed(digits);
