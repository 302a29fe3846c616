import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeWav } from '../../audio/wav.js';
import type { TtsEngine } from './tts-engine.js';

export interface EspeakSettings {
  /** Full path of `espeak-ng` or `flite`. */
  program: string;
  voice?: string;
  /** Words per minute (espeak-ng only). */
  speed?: number;
}

/** Runs a program to completion; the actor's signal kills it (and the whole synthesis) on stop. */
function run(program: string, args: string[], signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { signal, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${path.basename(program)} exited with ${code}: ${err.trim().slice(0, 200)}`)),
    );
  });
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
        return decodeWav(await run(settings.program, args, signal));
      }
      const dir = await mkdtemp(path.join(os.tmpdir(), 'vas-flite-'));
      try {
        const file = path.join(dir, 'out.wav');
        const args = ['-t', text, '-o', file];
        if (settings.voice) args.push('-voice', settings.voice);
        await run(settings.program, args, signal);
        return decodeWav(await readFile(file));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
