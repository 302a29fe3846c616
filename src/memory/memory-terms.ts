import type sqlite from 'node-sqlite3-wasm';
import { contentTerms } from './memory-query.js';

type Database = InstanceType<typeof sqlite.Database>;

/** How many messages hold each word (as memory-query.ts splits a text into words). */
export const TERMS_SCHEMA = `
CREATE TABLE IF NOT EXISTS term_docs(term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;`;

/**
 * The number of messages that hold each word, kept at indexing in the same transaction as the messages, so that a
 * search learns how common its words are with one lookup instead of counting each word's matches (a count over a
 * common word's thousands of matches cost about 0.4 ms each, and made the first searches after a start slow).
 * Words are counted as written, not stemmed: the full-text search also matches a word's other forms, so a count is
 * what the search will rank at least.
 */
export class TermCounts {
  constructor(private readonly db: Database) {}

  /** Counts the words of messages added (+1) or removed (-1). */
  change(contents: Iterable<string>, sign: 1 | -1): void {
    const delta = new Map<string, number>();
    for (const content of contents) for (const term of contentTerms(content)) delta.set(term, (delta.get(term) ?? 0) + sign);
    if (delta.size === 0) return;
    const upsert = this.db.prepare('INSERT INTO term_docs(term, n) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET n = n + excluded.n');
    try {
      for (const [term, n] of delta) upsert.run([term, n]);
    } finally {
      upsert.finalize();
    }
    if (sign < 0) this.db.run('DELETE FROM term_docs WHERE n <= 0');
  }

  /** The messages holding each of `terms` (0 for a word no message holds as written). */
  counts(terms: readonly string[]): Map<string, number> {
    const found = new Map<string, number>(terms.map((t) => [t, 0]));
    if (terms.length === 0) return found;
    const rows = this.db.all(`SELECT term, n FROM term_docs WHERE term IN (${terms.map(() => '?').join(',')})`, [...terms]) as { term: string; n: number }[];
    for (const r of rows) found.set(r.term, Number(r.n));
    return found;
  }

  clear(): void {
    this.db.run('DELETE FROM term_docs');
  }
}
