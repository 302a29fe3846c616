import type { EncodedJson } from './server-frames.js';

/**
 * A JSON array already encoded in UTF-8, carried in a server frame in place of the array (`history-list` with
 * thousands of summaries is kept encoded by the history index, not encoded from thousands of objects per page open).
 * Its bytes come in parts, in order, so that the encoder can keep a big array in chunks and change one without
 * copying the rest; `encodeServerFrame` writes the parts as they are. Anything else that encodes it gets the array
 * back through `toJSON`. The parts are shared and never changed.
 */
export class EncodedJsonArray implements EncodedJson {
  constructor(
    readonly parts: readonly Buffer[],
    readonly length: number,
  ) {}

  get byteLength(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  get text(): string {
    return Buffer.concat(this.parts).toString('utf8');
  }

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
