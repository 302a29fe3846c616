import { EncodedJsonArray } from '../protocol/encoded-json.js';

/** Consecutive entries of a list, each preceded by a comma (`,entry,entry…`), and each entry's length in bytes. */
interface Chunk {
  bytes: Buffer;
  lengths: number[];
}

/** A chunk grows to twice this before it is split in two, and shrinks to a quarter before it joins a neighbour. */
export const CHUNK_BYTES = 64 * 1024;

const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
const COMMA = Buffer.from(',');

/**
 * A JSON array kept encoded in UTF-8, so that sending it neither joins nor encodes its entries: the chunks go out as
 * they are. The array is kept in chunks of about CHUNK_BYTES, and inserting or removing an entry makes a new Buffer
 * of the one chunk it touches, never of the whole array: a megabyte Buffer made per change is what brings V8's next
 * full GC, and a Buffer is never changed once made (a socket may still be sending it).
 */
export class EncodedJsonList {
  private constructor(
    private chunks: Chunk[],
    private count: number,
  ) {}

  /** The list of these entries (each one JSON value, as text), in order. */
  static of(entries: Iterable<string>): EncodedJsonList {
    const chunks: Chunk[] = [];
    let count = 0;
    let texts: string[] = [];
    let lengths: number[] = [];
    let size = 0;
    const close = () => {
      if (texts.length > 0) chunks.push({ bytes: Buffer.from(`,${texts.join(',')}`, 'utf8'), lengths });
      texts = [];
      lengths = [];
      size = 0;
    };
    for (const entry of entries) {
      const length = Buffer.byteLength(entry);
      texts.push(entry);
      lengths.push(length);
      size += length + 1;
      count++;
      if (size >= CHUNK_BYTES) close();
    }
    close();
    return new EncodedJsonList(chunks, count);
  }

  /** How many entries the list holds. */
  get length(): number {
    return this.count;
  }

  /** The list as a JSON array for a frame: its parts are the chunks themselves, shared, not copies. */
  encoded(): EncodedJsonArray {
    const parts = this.chunks.map((chunk, i) => (i === 0 ? chunk.bytes.subarray(1) : chunk.bytes));
    return new EncodedJsonArray([OPEN, ...parts, CLOSE], this.count);
  }

  /** Empties the list. */
  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /** Puts `entry` (one JSON value, encoded) at `position`, before the entry that was there. */
  insert(position: number, entry: Buffer): void {
    this.count++;
    const { chunks } = this;
    if (chunks.length === 0) {
      chunks.push({ bytes: Buffer.concat([COMMA, entry]), lengths: [entry.length] });
      return;
    }
    const [c, index] = this.chunkAt(position);
    const chunk = chunks[c]!;
    const at = offsetIn(chunk, index);
    const bytes = Buffer.concat([chunk.bytes.subarray(0, at), COMMA, entry, chunk.bytes.subarray(at)]);
    const lengths = [...chunk.lengths.slice(0, index), entry.length, ...chunk.lengths.slice(index)];
    if (bytes.length <= 2 * CHUNK_BYTES || lengths.length < 2) {
      chunks[c] = { bytes, lengths };
      return;
    }
    // Split in two by entries, each half a copy of its own (a view would keep the other half alive once it is replaced).
    const half = lengths.length >> 1;
    const cut = lengths.slice(0, half).reduce((sum, length) => sum + length + 1, 0);
    const halves = [
      { bytes: Buffer.from(bytes.subarray(0, cut)), lengths: lengths.slice(0, half) },
      { bytes: Buffer.from(bytes.subarray(cut)), lengths: lengths.slice(half) },
    ];
    chunks.splice(c, 1, ...halves);
  }

  /** Removes the entry at `position`. */
  remove(position: number): void {
    this.count--;
    const { chunks } = this;
    const [c, index] = this.chunkAt(position);
    const chunk = chunks[c]!;
    const from = offsetIn(chunk, index);
    const to = from + chunk.lengths[index]! + 1;
    const lengths = chunk.lengths.filter((_, i) => i !== index);
    if (lengths.length === 0) {
      chunks.splice(c, 1);
      return;
    }
    chunks[c] = { bytes: Buffer.concat([chunk.bytes.subarray(0, from), chunk.bytes.subarray(to)]), lengths };
    // A chunk that shrank a lot joins a neighbour, so a list does not end up in many small pieces.
    const neighbour = c + 1 < chunks.length ? c + 1 : c - 1;
    if (chunks[c]!.bytes.length < CHUNK_BYTES / 4 && neighbour >= 0) {
      const [first, second] = neighbour > c ? [chunks[c]!, chunks[neighbour]!] : [chunks[neighbour]!, chunks[c]!];
      const joined = { bytes: Buffer.concat([first.bytes, second.bytes]), lengths: [...first.lengths, ...second.lengths] };
      chunks.splice(Math.min(c, neighbour), 2, joined);
    }
  }

  /** The chunk holding entry `position` and the entry's place in it; past the last entry, the end of the last chunk. */
  private chunkAt(position: number): [number, number] {
    const { chunks } = this;
    let start = 0;
    for (let c = 0; c < chunks.length; c++) {
      const count = chunks[c]!.lengths.length;
      if (position < start + count) return [c, position - start];
      start += count;
    }
    const last = chunks.length - 1;
    return [last, last >= 0 ? chunks[last]!.lengths.length : 0];
  }
}

/** Byte offset of entry `index` in a chunk (its comma). */
function offsetIn(chunk: Chunk, index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) offset += chunk.lengths[i]! + 1;
  return offset;
}
