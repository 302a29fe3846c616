import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeWav } from '../../audio/wav.js';
import { runProgram } from '../run-program.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export interface EspeakSettings {
  /** Full path of `espeak-ng` or `flite`. */
  program: string;
  voice?: string;
  /** Words per minute (espeak-ng only). */
  speed?: number;
}

/** Offline speech through Debian's espeak-ng (WAV on stdout) or flite (WAV written to a file). */
export function espeakTtsEngine(settings: EspeakSettings): TtsEngine {
  const isFlite = path.basename(settings.program) === 'flite';
  return {
    provider: 'espeak_tts',
    async synthesize(text, signal) {
      if (!isFlite) {
        const args = ['--stdout'];
        if (settings.voice) args.push('-v', settings.voice);
        if (settings.speed) args.push('-s', String(settings.speed));
        args.push('--', text);
        return decodeWav(await runProgram(settings.program, args, signal, { engine: true }));
      }
      const dir = await mkdtemp(path.join(os.tmpdir(), 'vas-flite-'));
      try {
        const file = path.join(dir, 'out.wav');
        const args = ['-t', text, '-o', file];
        if (settings.voice) args.push('-voice', settings.voice);
        await runProgram(settings.program, args, signal, { engine: true });
        return decodeWav(await readFile(file));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
