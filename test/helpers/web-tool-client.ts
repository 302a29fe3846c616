import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findProgram } from '../../src/engines/find-program.js';

/** What `POST /asr` answered. */
export interface AsrAnswer {
  status: number;
  headers: Headers;
  body: { text?: string; error?: string };
}

/** Uploads `bytes` as upstream's web tool does: multipart/form-data, the file in the field `file`. */
export async function uploadRecording(baseUrl: string, bytes: Buffer, options: { field?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<AsrAnswer> {
  const form = new FormData();
  form.append(options.field ?? 'file', new Blob([new Uint8Array(bytes)], { type: 'audio/wav' }), 'recording.wav');
  const res = await fetch(`${baseUrl}/asr`, { method: 'POST', body: form, headers: options.headers, signal: options.signal });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as AsrAnswer['body'] };
}

export const espeakProgram = findProgram('espeak-ng');

/** `text` spoken by espeak-ng into a WAV file, as `espeak-ng -w` writes it (22050 Hz, 16-bit mono). */
export function espeakWav(text: string): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-espeak-'));
  try {
    const file = path.join(dir, 'speech.wav');
    execFileSync(espeakProgram!, ['-v', 'en-us', '-s', '130', '-w', file, text]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
