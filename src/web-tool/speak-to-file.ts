import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fromPromise } from 'xstate';
import type { SpeakToFileInput, SpokenFile } from '../../machines/web-tool-contract.js';
import { encodeWav } from '../audio/wav.js';
import type { Logger } from '../observability/logger.js';

/** `20250101_120000_1a2b3c4d.wav`: when, then a random part (upstream's names, so its web tool finds nothing odd). */
export function cacheFileName(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}_${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${stamp}_${randomUUID().slice(0, 8)}.wav`;
}

/** The names this server gives the files of its cache folder (only those are ever deleted). */
export const CACHE_FILE_NAME = /^\d{8}_\d{6}_[0-9a-f]{8}\.wav$/;

/**
 * The speech actor's `speakToFile` slot: one sentence → a 16-bit WAV in the cache folder. Its signal aborts the
 * engine's request; a file finished after the abort is removed again, so a stopped sentence leaves nothing behind.
 * No audio at all is `null` (an empty WAV is what a page cannot decode). A failure names the engine.
 */
export function createSpeakToFile(cacheDir: string, logger: Logger) {
  return fromPromise<SpokenFile | null, SpeakToFileInput>(async ({ input, signal }) => {
    const { engine, text } = input;
    let audio;
    try {
      audio = await engine.synthesize(text, signal, { onRetry: (message) => logger.warn(message) });
    } catch (err) {
      const message = (err as Error).message;
      if (!signal.aborted) logger.warn(`/tts-ws: ${engine.provider} could not speak "${text.slice(0, 40)}": ${message}`);
      throw new Error(message.startsWith(engine.provider) ? message : `${engine.provider}: ${message}`);
    }
    if (!audio || audio.samples.length === 0) return null;
    const wav = encodeWav(audio);
    const name = cacheFileName();
    const file = path.join(cacheDir, name);
    await writeFile(file, wav, { signal });
    if (signal.aborted) {
      await rm(file, { force: true });
      throw signal.reason;
    }
    return { name, bytes: wav.length };
  });
}
