import type sqlite from 'node-sqlite3-wasm';
import { ftsTableFor } from './fts-table.js';

type Database = InstanceType<typeof sqlite.Database>;

/**
 * What the character learned (system_config.memory.extract): durable facts about the user that the configured model
 * distilled from the conversations, one per subject ("user's sister's name" → "The user's sister is called Ana."),
 * each pointing at the messages it came from. A fact said again is kept once; a fact about a subject already known
 * replaces the old one (the user moved, changed jobs…), with the new source.
 */

export const FACTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS facts(
  id INTEGER PRIMARY KEY, subject TEXT NOT NULL UNIQUE, fact TEXT NOT NULL,
  history_uid TEXT NOT NULL, first_idx INTEGER NOT NULL, last_idx INTEGER NOT NULL, timestamp TEXT NOT NULL);
${ftsTableFor('facts', 'fact', { updates: true })}
CREATE TABLE IF NOT EXISTS extracted(history_uid TEXT PRIMARY KEY, upto INTEGER NOT NULL);
`;

/** A fact as the model distilled it. */
export interface DistilledFact {
  subject: string;
  fact: string;
}

/** A fact as memory keeps it: its source is the messages `first_index`…`last_index` of `history_uid`. */
export interface LearnedFact extends DistilledFact {
  history_uid: string;
  first_index: number;
  last_index: number;
  timestamp: string;
}

const subjectKey = (subject: string) => subject.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

function toFact(r: Record<string, unknown>): LearnedFact {
  return {
    subject: String(r.subject),
    fact: String(r.fact),
    history_uid: String(r.history_uid),
    first_index: Number(r.first_idx),
    last_index: Number(r.last_idx),
    timestamp: String(r.timestamp),
  };
}

export class MemoryFacts {
  constructor(private readonly db: Database) {}

  /** The last message of a history already given to the model to learn from (0: none). */
  extractedUpTo(historyUid: string): number {
    const r = this.db.get('SELECT upto FROM extracted WHERE history_uid = ?', [historyUid]) as { upto: number } | null;
    return r ? Number(r.upto) : 0;
  }

  /** Records what was learned from a history's messages up to `upto` (facts may be none), in one transaction. */
  record(historyUid: string, upto: number, facts: readonly DistilledFact[], source: Omit<LearnedFact, 'subject' | 'fact'>): void {
    this.db.exec('BEGIN');
    try {
      for (const { subject, fact } of facts) {
        const key = subjectKey(subject);
        if (!key || !fact.trim()) continue;
        const known = this.db.get('SELECT fact FROM facts WHERE subject = ?', [key]) as { fact: string } | null;
        if (known && known.fact === fact.trim()) continue;
        this.db.run(
          `INSERT INTO facts(subject, fact, history_uid, first_idx, last_idx, timestamp) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(subject) DO UPDATE SET fact = excluded.fact, history_uid = excluded.history_uid,
             first_idx = excluded.first_idx, last_idx = excluded.last_idx, timestamp = excluded.timestamp`,
          [key, fact.trim(), source.history_uid, source.first_index, source.last_index, source.timestamp],
        );
      }
      this.db.run('INSERT OR REPLACE INTO extracted(history_uid, upto) VALUES (?, ?)', [historyUid, upto]);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** The `k` facts best matching an FTS5 query, outside `excludeUid`, best first. */
  search(match: string, k: number, excludeUid?: string): Array<LearnedFact & { score: number }> {
    const rows = this.db.all(
      `SELECT f.*, -bm25(facts_fts) AS score FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid
        WHERE facts_fts MATCH ? AND f.history_uid != ? ORDER BY bm25(facts_fts) LIMIT ?`,
      [match, excludeUid ?? '', k],
    ) as Record<string, unknown>[];
    return rows.map((r) => ({ ...toFact(r), score: Number(r.score) }));
  }

  /** Every fact, the most recently learned first. */
  list(): LearnedFact[] {
    return (this.db.all('SELECT * FROM facts ORDER BY timestamp DESC, id DESC') as Record<string, unknown>[]).map(toFact);
  }

  /** Forgets what was learned from a history (deleted, or forgotten by the user). */
  forgetHistory(historyUid: string): void {
    this.db.run('DELETE FROM facts WHERE history_uid = ?', [historyUid]);
  }

  /** Forgets one fact (by its subject); whether there was one. */
  forgetFact(subject: string): boolean {
    return this.db.run('DELETE FROM facts WHERE subject = ?', [subjectKey(subject)]).changes > 0;
  }
}
