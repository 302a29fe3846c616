import fc from 'fast-check';
import { CHUNK_BYTES, EncodedJsonList } from '../../src/history/encoded-list.js';

/** An entry of about `size` bytes, with characters of more than one byte in UTF-8. */
const entry = (id: number, size: number) => JSON.stringify({ id, text: `é${'x'.repeat(Math.max(0, size - 30))}` });

type Op = { kind: 'insert'; at: number; size: number } | { kind: 'remove'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  // Sizes from tiny to a third of a chunk: inserts split chunks, removes join them.
  { arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), size: fc.integer({ min: 10, max: Math.floor(CHUNK_BYTES / 3) }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }), weight: 2 },
);

describe('EncodedJsonList: a JSON array kept encoded in chunks', () => {
  test('round trip: after any inserts and removes its text is the JSON of the same array kept plainly', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 10, max: 2000 }), { maxLength: 60, size: 'max' }), fc.array(op, { minLength: 20, maxLength: 80, size: 'max' }), (initial, ops) => {
        const model = initial.map((size, i) => entry(i, size));
        const list = EncodedJsonList.of(model);
        let next = model.length;
        const check = () => {
          const encoded = list.encoded();
          expect(encoded.text).toBe(`[${model.join(',')}]`);
          expect(encoded.length).toBe(model.length);
          expect(list.length).toBe(model.length);
          // Chunks are split before they pass twice CHUNK_BYTES (every entry here is smaller than that).
          for (const part of encoded.parts) expect(part.length).toBeLessThanOrEqual(2 * CHUNK_BYTES);
        };
        for (const [i, o] of ops.entries()) {
          if (o.kind === 'insert') {
            const at = o.at % (model.length + 1);
            const text = entry(next++, o.size);
            model.splice(at, 0, text);
            list.insert(at, Buffer.from(text));
          } else if (model.length > 0) {
            const at = o.at % model.length;
            model.splice(at, 1);
            list.remove(at);
          }
          if (i % 8 === 7) check();
        }
        check();
      }),
      { numRuns: 40 },
    );
  });

  test('an empty list is []; a list built from nothing takes inserts', () => {
    const list = EncodedJsonList.of([]);
    expect(list.encoded().text).toBe('[]');
    list.insert(0, Buffer.from('"a"'));
    list.insert(0, Buffer.from('"b"'));
    list.insert(2, Buffer.from('"c"'));
    expect(list.encoded().toJSON()).toEqual(['b', 'a', 'c']);
    list.clear();
    expect(list.encoded().text).toBe('[]');
    expect(list.length).toBe(0);
  });

  test('a big list is kept in chunks of about CHUNK_BYTES, each a part of the array sent', () => {
    const entries = Array.from({ length: 200 }, (_, i) => entry(i, 4000));
    const encoded = EncodedJsonList.of(entries).encoded();
    // `[`, the chunks, `]`: 800 kB in chunks of 64 kB to 128 kB.
    const chunks = encoded.parts.slice(1, -1);
    expect(chunks.length).toBeGreaterThanOrEqual(800_000 / (2 * CHUNK_BYTES));
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(2 * CHUNK_BYTES);
    expect(encoded.byteLength).toBe(Buffer.byteLength(`[${entries.join(',')}]`));
  });

  test('what was handed out is never changed: a change makes new chunks, and leaves the others shared', () => {
    const entries = Array.from({ length: 100 }, (_, i) => entry(i, 4000));
    const list = EncodedJsonList.of(entries);
    const before = list.encoded();
    const text = before.text;
    list.insert(0, Buffer.from('"first"'));
    list.remove(50);
    expect(before.text).toBe(text);
    const after = list.encoded();
    // Only the chunks holding the two changes are new; the last one is the same memory as before.
    expect(after.parts.at(-2)!.buffer).toBe(before.parts.at(-2)!.buffer);
    expect(after.parts[1]!.buffer).not.toBe(before.parts[1]!.buffer);
  });
});
