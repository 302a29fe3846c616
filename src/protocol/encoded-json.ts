import type { EncodedJson } from './server-frames.js';

/**
 * A JSON array already encoded in UTF-8, carried in a server frame in place of the array (`history-list` with
 * thousands of summaries is a Buffer the history index keeps up to date, not an encoding of thousands of objects per
 * page open). `encodeServerFrame` writes its bytes as they are; anything else that encodes it gets the array back
 * through `toJSON`. The bytes are shared and never changed.
 */
export class EncodedJsonArray implements EncodedJson {
  constructor(
    readonly bytes: Buffer,
    readonly length: number,
    /**
     * The whole frame around `bytes`, when the encoder made that too (`bytes` is then a view into it): sent as it is,
     * once `encodeServerFrame` has checked that it is that frame, so a megabyte list is not copied per send.
     */
    readonly frame?: Buffer,
  ) {}

  get text(): string {
    return this.bytes.toString('utf8');
  }

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
