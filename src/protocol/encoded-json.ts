/**
 * A JSON array already encoded, carried in a server frame in place of the array (`history-list` with thousands of
 * summaries is one join of cached strings, not an encoding of thousands of objects per page open).
 * `encodeServerFrame` writes it as it is; anything else that encodes it gets the array back through `toJSON`.
 */
export class EncodedJsonArray {
  constructor(
    readonly text: string,
    readonly length: number,
  ) {}

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
