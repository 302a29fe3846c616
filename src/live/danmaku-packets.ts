import { brotliDecompress, inflate, type ZlibOptions, type BrotliOptions } from 'node:zlib';
import { z } from 'zod';

/**
 * Checks on bilibili's danmaku wire format, made before bilibili-live-ws decodes a frame: a WebSocket frame is one or
 * more packets, each a 16-byte header (packet length, header length 16, protocol version, operation, sequence; big
 * endian) and a body. Protocol 0 bodies are JSON, 1 a 32-bit number, 2 and 3 zlib / brotli holding more packets.
 * The library trusts every length and runs its decoder unguarded, so a length of 0 would loop for ever and a bad body
 * would be an unhandled rejection; here a frame is read only when its packets tile it exactly, a compressed body is
 * expanded to at most MAX_EXPANDED_BYTES, and what it holds must be plain packets again (no compression inside).
 */

export const HEADER_BYTES = 16;
export const OP_AUTH_REPLY = 8;
const PROTOCOL_JSON = 0;
const PROTOCOL_NUMBER = 1;
/** The most one compressed body may expand to (a chat burst is a few kB). */
export const MAX_EXPANDED_BYTES = 1024 * 1024;
/** A chat message longer than this is cut (bilibili's own limit is far lower). */
export const MAX_DANMAKU_CHARS = 200;

/** Why `frame` is not a sequence of well-formed packets, or null. `plainOnly`: every packet must be protocol 0 or 1. */
export function framingProblem(frame: Buffer, plainOnly = false): string | null {
  if (frame.length === 0) return 'an empty frame';
  for (let at = 0; at < frame.length; ) {
    if (frame.length - at < HEADER_BYTES) return `a packet header cut short at byte ${at}`;
    const length = frame.readUInt32BE(at);
    const headerLength = frame.readUInt16BE(at + 4);
    const protocol = frame.readUInt16BE(at + 6);
    if (headerLength !== HEADER_BYTES) return `a header length of ${headerLength} (expected ${HEADER_BYTES})`;
    if (length < HEADER_BYTES || length > frame.length - at) return `a packet length of ${length} at byte ${at} in a frame of ${frame.length}`;
    if (protocol > 3 || (plainOnly && protocol > PROTOCOL_NUMBER)) return `protocol version ${protocol} where it cannot be`;
    at += length;
  }
  return null;
}

/** The server's refusal in an authentication reply (operation 8 with a non-zero `code`), or null. */
export function authRefusal(frame: Buffer): string | null {
  if (frame.length < HEADER_BYTES || frame.readUInt32BE(8) !== OP_AUTH_REPLY) return null;
  const protocol = frame.readUInt16BE(6);
  if (protocol !== PROTOCOL_JSON && protocol !== PROTOCOL_NUMBER) return null;
  try {
    const body = JSON.parse(frame.subarray(HEADER_BYTES, frame.readUInt32BE(0)).toString('utf8')) as { code?: unknown };
    return typeof body.code === 'number' && body.code !== 0 ? `the chat server refused the room (code ${body.code})` : null;
  } catch {
    return null;
  }
}

function expand(run: (buf: Buffer, options: ZlibOptions & BrotliOptions, done: (err: Error | null, out: Buffer) => void) => void) {
  return (body: Buffer) =>
    new Promise<Buffer>((resolve, reject) =>
      run(body, { maxOutputLength: MAX_EXPANDED_BYTES }, (err, out) => {
        const problem = err ? err.message : framingProblem(out, true);
        if (problem) reject(new Error(`a compressed packet: ${problem}`));
        else resolve(out);
      }),
    );
}

/** The decompressors bilibili-live-ws is built with, bounded and checked. */
export const checkedInflates = {
  inflateAsync: expand(inflate as never),
  brotliDecompressAsync: expand(brotliDecompress as never),
  Buffer,
};

const danmuMsg = z.object({
  cmd: z.string(),
  // info[1] is the text, info[2] the sender: [uid, name, …]
  info: z.tuple([z.unknown(), z.string(), z.tuple([z.unknown(), z.string()]).rest(z.unknown())]).rest(z.unknown()),
});

/** A `DANMU_MSG` command's text and sender's name, or null when it is not one or says nothing. */
export function readDanmaku(data: unknown): { text: string; user: string } | null {
  const parsed = danmuMsg.safeParse(data);
  if (!parsed.success || !parsed.data.cmd.startsWith('DANMU_MSG')) return null;
  const text = parsed.data.info[1].trim().slice(0, MAX_DANMAKU_CHARS);
  return text ? { text, user: parsed.data.info[2][1] } : null;
}
