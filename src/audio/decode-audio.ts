import { decodeMp3 } from './mp3.js';
import { decodeWav, pcm16 } from './wav.js';
import type { PcmAudio } from './pcm-audio.js';

/** What an engine said it sends, for bytes that carry no header of their own (raw PCM). */
export interface AudioHint {
  /** The engine was asked for raw little-endian 16-bit mono PCM at this rate (a WAV answer is still read as WAV). */
  pcmSampleRate?: number;
}

/** An MP3 stream starts with an ID3 tag or an MPEG audio frame sync (11 set bits). */
function looksLikeMp3(bytes: Uint8Array): boolean {
  if (bytes.length >= 3 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) return true;
  return bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0;
}

/**
 * Whatever an engine answered (WAV of any rate and width, MP3, or raw PCM when the engine says so) as PCM the
 * client can play. The bytes decide, not the file extension asked for: servers answer WAV when asked for MP3 and
 * the other way round.
 */
export async function decodeAudio(bytes: Buffer, hint: AudioHint = {}): Promise<PcmAudio> {
  if (bytes.length >= 12 && bytes.toString('ascii', 0, 4) === 'RIFF') return decodeWav(bytes);
  if (hint.pcmSampleRate) return pcm16(bytes, hint.pcmSampleRate);
  if (looksLikeMp3(bytes)) return decodeMp3(bytes);
  const head = bytes.toString('ascii', 0, 4);
  throw new Error(`the audio is neither WAV, MP3 nor PCM (it starts with ${JSON.stringify(head)})`);
}
