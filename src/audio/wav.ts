import type { PcmAudio } from './pcm-audio.js';

/**
 * WAV in and out. Clients lip-sync with Cubism's WAV parser, which wants `fmt ` right after `WAVE`, integer PCM
 * and 8/16/24-bit samples; so everything we send is re-encoded as 16-bit PCM with the canonical 44-byte header.
 *
 * The reader is tolerant on purpose: engines that stream to a pipe (espeak-ng, some servers) write 0x7fffffff or 0 as
 * chunk sizes because the length is unknown when the header goes out. No npm WAV package reads those, hence this file.
 */

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

export function encodeWav({ sampleRate, channels, samples }: PcmAudio): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  Buffer.from(samples.buffer, samples.byteOffset, dataBytes).copy(out, 44);
  return out;
}

/** Raw little-endian 16-bit PCM (e.g. OpenAI's `response_format: "pcm"`, 24 kHz mono) as audio. */
export function pcm16(bytes: Buffer, sampleRate: number, channels = 1): PcmAudio {
  const usable = bytes.length - (bytes.length % (2 * channels));
  const samples = new Int16Array(usable / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  return { sampleRate, channels, samples };
}

export function decodeWav(bytes: Buffer): PcmAudio {
  if (bytes.length < 12 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const declared = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      let format = bytes.readUInt16LE(body);
      const bits = bytes.readUInt16LE(body + 14);
      if (format === FORMAT_EXTENSIBLE && declared >= 40) format = bytes.readUInt16LE(body + 24);
      fmt = { format, channels: bytes.readUInt16LE(body + 2), sampleRate: bytes.readUInt32LE(body + 4), bits };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAV data before its fmt chunk');
      // A streamed header declares an unknown size: the data runs to the end of the file.
      const end = declared === 0 || body + declared > bytes.length ? bytes.length : body + declared;
      return { sampleRate: fmt.sampleRate, channels: fmt.channels, samples: toInt16(bytes.subarray(body, end), fmt.format, fmt.bits) };
    }
    offset = body + declared + (declared % 2);
  }
  throw new Error('WAV file without a data chunk');
}

function toInt16(data: Buffer, format: number, bits: number): Int16Array {
  const clamp = (v: number) => Math.max(-32768, Math.min(32767, Math.round(v)));
  if (format === FORMAT_FLOAT && bits === 32) {
    const out = new Int16Array(Math.floor(data.length / 4));
    for (let i = 0; i < out.length; i++) out[i] = clamp(data.readFloatLE(i * 4) * 32767);
    return out;
  }
  if (format !== FORMAT_PCM) throw new Error(`unsupported WAV format ${format} (${bits}-bit)`);
  const width = bits / 8;
  if (bits === 16) {
    // Copy into an aligned buffer and view it as samples (the platforms we run on are little-endian).
    const copy = new Uint8Array(data.length - (data.length % 2));
    copy.set(data.subarray(0, copy.length));
    return new Int16Array(copy.buffer);
  }
  const out = new Int16Array(Math.floor(data.length / width));
  for (let i = 0; i < out.length; i++) {
    const at = i * width;
    if (bits === 16) out[i] = data.readInt16LE(at);
    else if (bits === 8) out[i] = (data[at]! - 128) << 8;
    else if (bits === 24) out[i] = data.readIntLE(at, 3) >> 8;
    else if (bits === 32) out[i] = data.readInt32LE(at) >> 16;
    else throw new Error(`unsupported WAV sample width ${bits}`);
  }
  return out;
}

export function durationMs(audio: PcmAudio): number {
  return (audio.samples.length / audio.channels / audio.sampleRate) * 1000;
}

export function isSilent(audio: PcmAudio): boolean {
  return audio.samples.every((s) => s === 0);
}

/**
 * The payload's `volumes`: one value per `sliceMs` window (the last, partial one included), the window's RMS divided
 * by the loudest window's RMS, so every value is in [0, 1] and the largest is 1.
 */
export function sliceVolumes(audio: PcmAudio, sliceMs = 20): number[] {
  const frame = Math.max(1, Math.round((audio.sampleRate * sliceMs) / 1000) * audio.channels);
  const rms: number[] = [];
  for (let start = 0; start < audio.samples.length; start += frame) {
    const end = Math.min(start + frame, audio.samples.length);
    let sum = 0;
    for (let i = start; i < end; i++) sum += audio.samples[i]! * audio.samples[i]!;
    rms.push(Math.sqrt(sum / (end - start)));
  }
  const loudest = Math.max(0, ...rms);
  return loudest === 0 ? rms.map(() => 0) : rms.map((v) => v / loudest);
}
