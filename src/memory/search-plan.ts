import type sqlite from 'node-sqlite3-wasm';
import { matchOf } from './memory-query.js';
import type { TermCounts } from './memory-terms.js';

type Database = InstanceType<typeof sqlite.Database>;

/** A search as the full-text table runs it: the FTS5 query, and the first row id it ranks (0: all). */
export interface SearchPlan {
  match: string;
  fromRowid: number;
}

/**
 * What a search ranks. Ranking costs in proportion to the messages that match, so a search ranks about `bound`
 * of them at most (1/64 of the messages, at least 256): the rarest terms first, as many as fit (a term found in
 * more messages says less about what a message is about). When every term is that common, the messages holding
 * all of them are ranked; when none holds all, the latest `bound` messages holding the rarest term. How common a
 * term is comes from the counts kept at indexing (memory-terms.ts): one lookup, whatever the terms.
 */
export function planSearch(db: Database, counts: TermCounts, total: number, terms: readonly string[]): SearchPlan {
  const bound = Math.max(256, Math.floor(total / 64));
  if (total <= bound) return { match: matchOf(terms), fromRowid: 0 };
  const docs = counts.counts(terms);
  const counted = terms.map((term) => ({ term, n: docs.get(term) ?? 0 })).sort((a, b) => a.n - b.n);
  const chosen: string[] = [];
  let rows = 0;
  for (const { term, n } of counted) {
    if (rows + n > bound) break;
    chosen.push(term);
    rows += n;
  }
  if (chosen.length > 0) return { match: matchOf(chosen), fromRowid: 0 };
  if (counted.length > 1) {
    const all = counted.map((t) => `"${t.term}"`).join(' AND ');
    const together = Number((db.get('SELECT count(*) AS n FROM (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)', [all, bound + 1]) as { n: number }).n);
    if (together > 0 && together <= bound) return { match: all, fromRowid: 0 };
  }
  const rarest = matchOf([counted[0]!.term]);
  const edge = db.get('SELECT rowid AS id FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?', [rarest, bound - 1]) as { id: number } | null;
  return { match: rarest, fromRowid: edge ? Number(edge.id) : 0 };
}
