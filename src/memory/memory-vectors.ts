import type sqlite from 'node-sqlite3-wasm';

type Database = InstanceType<typeof sqlite.Database>;

/**
 * The messages' embeddings (memory.embeddings), one per message and model, stored as float32 blobs beside the text
 * and deleted with their message. The nearest ones to a query are found by a dot product over all of them, held in
 * memory once read (dimension × 4 bytes per message: 30 MB for 10,000 messages of 768 dimensions).
 */

export const VECTORS_SCHEMA = `
CREATE TABLE IF NOT EXISTS vectors(message_id INTEGER PRIMARY KEY, model TEXT NOT NULL, v BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS messages_ad_vectors AFTER DELETE ON messages BEGIN
  DELETE FROM vectors WHERE message_id = old.id;
END;
`;

interface Loaded {
  model: string;
  ids: number[];
  dim: number;
  data: Float32Array;
}

const toBlob = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
const fromBlob = (b: Uint8Array) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

export class MemoryVectors {
  private loaded: Loaded | null = null;

  constructor(private readonly db: Database) {}

  /** Messages that have no embedding by `model` yet, oldest first. */
  missing(model: string, limit: number): { id: number; content: string }[] {
    return (
      this.db.all('SELECT m.id, m.content FROM messages m LEFT JOIN vectors v ON v.message_id = m.id AND v.model = ? WHERE v.message_id IS NULL ORDER BY m.id LIMIT ?', [
        model,
        limit,
      ]) as { id: number; content: string }[]
    ).map((r) => ({ id: Number(r.id), content: String(r.content) }));
  }

  add(model: string, rows: readonly { id: number; v: Float32Array }[]): void {
    this.db.exec('BEGIN');
    try {
      for (const { id, v } of rows) this.db.run('INSERT OR REPLACE INTO vectors(message_id, model, v) VALUES (?, ?, ?)', [id, model, toBlob(v)]);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    // Appended to what is held, unless it is another model's or another size: then read again when needed.
    const held = this.loaded;
    if (held && held.model === model && rows.every((r) => r.v.length === held.dim)) {
      const data = new Float32Array(held.data.length + rows.length * held.dim);
      data.set(held.data);
      rows.forEach((r, i) => data.set(r.v, held.data.length + i * held.dim));
      this.loaded = { ...held, ids: [...held.ids, ...rows.map((r) => r.id)], data };
    } else this.loaded = null;
  }

  /** Messages were deleted: what is held is read again when next needed. */
  invalidate(): void {
    this.loaded = null;
  }

  /** The `n` messages whose embedding is nearest to `query` (a unit vector), nearest first. */
  nearest(model: string, query: Float32Array, n: number): { id: number; score: number }[] {
    const held = this.load(model);
    if (!held || held.dim !== query.length) return [];
    const best: { id: number; score: number }[] = [];
    for (let row = 0; row < held.ids.length; row++) {
      let dot = 0;
      const at = row * held.dim;
      for (let i = 0; i < held.dim; i++) dot += held.data[at + i]! * query[i]!;
      if (best.length < n || dot > best[best.length - 1]!.score) {
        best.push({ id: held.ids[row]!, score: dot });
        best.sort((a, b) => b.score - a.score);
        if (best.length > n) best.pop();
      }
    }
    return best;
  }

  private load(model: string): Loaded | null {
    if (this.loaded?.model === model) return this.loaded;
    const rows = this.db.all('SELECT message_id, v FROM vectors WHERE model = ? ORDER BY message_id', [model]) as { message_id: number; v: Uint8Array }[];
    if (rows.length === 0) return null;
    const dim = rows[0]!.v.byteLength / 4;
    const usable = rows.filter((r) => r.v.byteLength === dim * 4);
    const data = new Float32Array(usable.length * dim);
    usable.forEach((r, i) => data.set(fromBlob(r.v), i * dim));
    this.loaded = { model, ids: usable.map((r) => Number(r.message_id)), dim, data };
    return this.loaded;
  }
}
