import path from 'node:path';
import { megabytes } from './fs-helpers.js';
import type { ModelManifest } from './manifest-format.js';

/** Where one model of the configuration stands. */
export interface ModelStatus {
  manifest: ModelManifest;
  /** Absolute path of the file or folder. */
  target: string;
  state: 'waiting' | 'downloading' | 'installed' | 'failed' | 'off';
  received: number;
  /** Why it failed, for a person. */
  error?: string;
}

/** The command that fetches the configuration's models by hand (and what the talker tells the user to run). */
export const FETCH_MODELS_COMMAND = 'npm run models:fetch';

const ROLE_NAMES: Record<ModelManifest['role'], string> = { mind: 'my mind (the language model)', ears: 'my ears (speech recognition)', voice: 'my voice' };

/**
 * The models the configuration needs that were missing at start, and how far their downloads are: written by the
 * download run, read by the engines that wait for them (they answer with where things stand instead of failing).
 * Plain state with no resources; the run that owns the downloads is in first-start.ts.
 */
export class ModelBoard {
  private readonly entries: ModelStatus[] = [];

  add(manifest: ModelManifest, target: string, state: ModelStatus['state']): ModelStatus {
    const entry: ModelStatus = { manifest, target, state, received: 0 };
    this.entries.push(entry);
    return entry;
  }

  list(): readonly ModelStatus[] {
    return this.entries;
  }

  /** The entry for the model holding `file` (the file itself, or a file inside the model's folder). */
  covering(file: string): ModelStatus | undefined {
    const full = path.resolve(file);
    return this.entries.find((e) => full === e.target || full.startsWith(e.target + path.sep));
  }

  /** The models not installed yet, as the offline talker says it: what is missing, how far along, what to do. */
  describePending(): string | undefined {
    const pending = this.entries.filter((e) => e.state !== 'installed');
    if (pending.length === 0) return undefined;
    const parts = pending.map((e) => {
      const name = ROLE_NAMES[e.manifest.role];
      const size = `${megabytes(e.manifest.bytes, 0)} MB`;
      if (e.state === 'downloading') return `${name} is still downloading: ${Math.floor((e.received / e.manifest.bytes) * 100)} % of ${size}`;
      if (e.state === 'waiting') return `${name} is waiting to download (${size})`;
      if (e.state === 'failed') return `${name} could not be downloaded (${e.error ?? 'unknown error'})`;
      return `${name} is not downloaded (${size})`;
    });
    const stuck = pending.some((e) => e.state === 'failed' || e.state === 'off');
    const capitalised = parts.join('; ').replace(/^m/, 'M');
    return stuck
      ? `${capitalised}. To fetch what is missing, run: ${FETCH_MODELS_COMMAND}, then start me again.`
      : `${capitalised}. I will talk properly as soon as it is here.`;
  }
}
