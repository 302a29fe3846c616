import type sqlite from 'node-sqlite3-wasm';

type Database = InstanceType<typeof sqlite.Database>;

/**
 * How many messages hold each term of the full-text index (a term as the index keeps it: lower case, without
 * diacritics, stemmed), and a scratch full-text table in memory (`temp`) with the same tokenizer, through which texts
 * are split into those terms by SQLite itself, so that the counts are exactly what a search will match.
 */
export const TERMS_SCHEMA = `
CREATE TABLE IF NOT EXISTS term_docs(term TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;`;

const SCRATCH = `
CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_fts USING fts5(text, content='', tokenize='porter unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_rows USING fts5vocab(temp, scratch_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_instances USING fts5vocab(temp, scratch_fts, 'instance');`;

/**
 * The number of messages that hold each term, kept at indexing in the same transaction as the messages, so that a
 * search learns how common its words are with one lookup instead of counting each word's matches (a count over a
 * common word's thousands of matches cost about 0.4 ms, and made the first searches after a start slow).
 */
export class TermCounts {
  constructor(private readonly db: Database) {
    db.exec(SCRATCH);
  }

  /** Texts into the scratch table, one row each (numbered from 1), replacing what it held. */
  private scratch(texts: readonly string[]): void {
    this.db.run("INSERT INTO scratch_fts(scratch_fts) VALUES ('delete-all')");
    const insert = this.db.prepare('INSERT INTO scratch_fts(rowid, text) VALUES (?, ?)');
    try {
      texts.forEach((text, i) => insert.run([i + 1, text]));
    } finally {
      insert.finalize();
    }
  }

  /** Counts the terms of messages added (+1) or removed (-1). */
  change(contents: readonly string[], sign: 1 | -1): void {
    if (contents.length === 0) return;
    this.scratch(contents);
    const rows = this.db.all('SELECT term, doc FROM scratch_rows') as { term: string; doc: number }[];
    const upsert = this.db.prepare('INSERT INTO term_docs(term, n) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET n = n + excluded.n');
    try {
      for (const { term, doc } of rows) upsert.run([term, sign * Number(doc)]);
    } finally {
      upsert.finalize();
    }
    if (sign < 0) this.db.run('DELETE FROM term_docs WHERE n <= 0');
  }

  /** How many messages each word matches (0 for a word no message holds). */
  counts(words: readonly string[]): Map<string, number> {
    const found = new Map<string, number>(words.map((w) => [w, 0]));
    if (words.length === 0) return found;
    this.scratch(words);
    const terms = this.db.all('SELECT term, doc FROM scratch_instances') as { term: string; doc: number }[];
    if (terms.length === 0) return found;
    const unique = [...new Set(terms.map((t) => t.term))];
    const rows = this.db.all(`SELECT term, n FROM term_docs WHERE term IN (${unique.map(() => '?').join(',')})`, unique) as { term: string; n: number }[];
    const docs = new Map(rows.map((r) => [r.term, Number(r.n)]));
    for (const { term, doc } of terms) {
      const word = words[Number(doc) - 1]!;
      found.set(word, Math.max(found.get(word) ?? 0, docs.get(term) ?? 0));
    }
    return found;
  }
}
