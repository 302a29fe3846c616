import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encodeWav } from '../../audio/wav.js';
import { runProgram } from '../run-program.js';
import { ASR_SAMPLE_RATE, toPcm16 } from './asr-engine.js';
import type { AsrEngine } from '../../../machines/engine-contracts.js';

export interface PocketsphinxSettings {
  /** Full path of `pocketsphinx_continuous` (Debian: pocketsphinx, with the pocketsphinx-en-us model). */
  program: string;
  /** Optional model files (-hmm, -lm, -dict); the package's en-us model is used when unset. */
  hmm?: string;
  lm?: string;
  dict?: string;
}

/** Offline recognition with CMU PocketSphinx: slow-ish and of fair accuracy, but needs no network and no service. */
export function pocketsphinxAsr(settings: PocketsphinxSettings): AsrEngine {
  return {
    provider: 'pocketsphinx_asr',
    async transcribe(samples, signal) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'vas-asr-'));
      try {
        const file = path.join(dir, 'speech.wav');
        await writeFile(file, encodeWav({ sampleRate: ASR_SAMPLE_RATE, channels: 1, samples: toPcm16(samples) }));
        const args = ['-infile', file, '-logfn', '/dev/null'];
        if (settings.hmm) args.push('-hmm', settings.hmm);
        if (settings.lm) args.push('-lm', settings.lm);
        if (settings.dict) args.push('-dict', settings.dict);
        const out = (await runProgram(settings.program, args, signal, { engine: true })).toString('utf8');
        return out
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
          .join(' ');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
