import type { RawData } from 'ws';
import { CLIENT_FRAME_TYPES, clientFrameSchema, type ClientFrame } from './client-frames.js';

/**
 * Inbound socket data, validated at the edge (docs/decisions.md, 7); the frame types themselves are client-frames.ts.
 */

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; message: string };

/** A WebSocket message as `ws` delivers it (one buffer, or fragments). */
export function parseSocketMessage(data: RawData, isBinary: boolean): ParsedFrame {
  return parseClientFrame(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary);
}

/** Raw socket data → a typed frame, or the message of the one `error` frame that answers it. */
export function parseClientFrame(data: string | Buffer, isBinary: boolean): ParsedFrame {
  if (isBinary) return { ok: false, message: 'Binary frames are not supported: send JSON text frames' };
  const text = typeof data === 'string' ? data : data.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `Invalid frame: not valid JSON (${(err as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const kind = json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`;
    return { ok: false, message: `Invalid frame: expected a JSON object with a "type" field, got ${kind}` };
  }
  const type = (json as Record<string, unknown>).type;
  if (typeof type !== 'string') return { ok: false, message: 'Invalid frame: the "type" field is missing or not a string' };
  if (!(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
    return { ok: false, message: `Unknown message type "${truncate(type)}"` };
  }
  const result = clientFrameSchema.safeParse(json);
  if (result.success) return { ok: true, frame: result.data };
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  const problem = issue.message.replace(/^Invalid input: /, '');
  const where = field && !problem.startsWith(`"${field}"`) ? `field "${field}": ` : '';
  return { ok: false, message: `Invalid "${type}" frame: ${where}${problem}` };
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
