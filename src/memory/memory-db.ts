import { rmSync } from 'node:fs';
import sqlite from 'node-sqlite3-wasm';
import type { FileStamp } from '../history/durable-file.js';
import { FACTS_SCHEMA, MemoryFacts } from './memory-facts.js';
import { ftsTableFor } from './fts-table.js';
import { MemoryVectors, VECTORS_SCHEMA } from './memory-vectors.js';
import { TermCounts, TERMS_SCHEMA } from './memory-terms.js';
import { planSearch } from './search-plan.js';

const { Database } = sqlite;
type Database = InstanceType<typeof Database>;

/** One message of a history file as the index keeps it; `index` is its position in the file's array (metadata is 0). */
export interface IndexedMessage {
  index: number;
  role: string;
  name: string | null;
  content: string;
  timestamp: string;
}

/** A search result: a message, the history it is in, and its BM25 score (higher is more relevant). */
export interface MemoryHit extends IndexedMessage {
  history_uid: string;
  score: number;
}

/** One conversation as memory holds it: its messages indexed and the times of the first and the last. */
export interface RememberedConversation {
  history_uid: string;
  messages: number;
  first: string;
  last: string;
}

/** What the index knows of one history file: its stamp when it was indexed and how many entries it had. */
export interface IndexedFile extends FileStamp {
  entries: number;
}

/** 2: term_docs (memory-terms.ts). An index of another version is built again from the histories. */
const SCHEMA_VERSION = 2;

/**
 * The journal is kept between transactions, so that writing the index does not add and remove a file in the
 * character's folder on every turn (the history list watches that folder's modification time). No fsync: the index
 * is derived data, checked when opened and rebuilt from the histories if a crash damaged it.
 */
const PRAGMAS = 'PRAGMA journal_mode=PERSIST; PRAGMA synchronous=OFF;';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS files(history_uid TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL, entries INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY, history_uid TEXT NOT NULL, idx INTEGER NOT NULL, role TEXT NOT NULL, name TEXT,
  content TEXT NOT NULL, timestamp TEXT NOT NULL, UNIQUE(history_uid, idx));
CREATE TABLE IF NOT EXISTS forgotten(history_uid TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(history_uid, idx));
${ftsTableFor('messages', 'content')}
${TERMS_SCHEMA}`;

/**
 * One character's memory index: an SQLite file (SQLite compiled to WebAssembly, node-sqlite3-wasm) beside its
 * histories, with a full-text table ranked by BM25. It is derived data: a file that cannot be opened, fails its
 * integrity check or has another schema version is deleted and built again from the histories.
 */
export class MemoryDb {
  /** Messages indexed (kept in step by put and forget). */
  private total: number;
  /** How many messages hold each word. */
  private readonly terms: TermCounts;
  /** What the character learned (system_config.memory.extract). */
  readonly facts: MemoryFacts;
  /** The messages' embeddings (system_config.memory.embeddings). */
  readonly vectors: MemoryVectors;

  private constructor(
    private readonly db: Database,
    /** The file was missing or damaged and is new: every history must be indexed again. */
    readonly fresh: boolean,
  ) {
    this.total = Number((db.get('SELECT count(*) AS n FROM messages') as { n: number }).n);
    this.facts = new MemoryFacts(db);
    this.vectors = new MemoryVectors(db);
    this.terms = new TermCounts(db);
  }

  static open(file: string): MemoryDb {
    try {
      const db = new Database(file);
      try {
        const version = Number((db.get('PRAGMA user_version') as { user_version: number }).user_version);
        const existed = (db.get("SELECT count(*) AS n FROM sqlite_master WHERE name = 'messages'") as { n: number }).n > 0;
        const check = db.get('PRAGMA quick_check') as { quick_check: string } | null;
        if ((existed && version !== SCHEMA_VERSION) || check?.quick_check !== 'ok') throw new Error('damaged');
        db.exec(PRAGMAS);
        db.exec(SCHEMA + FACTS_SCHEMA + VECTORS_SCHEMA);
        db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
        return new MemoryDb(db, !existed);
      } catch (err) {
        db.close();
        throw err;
      }
    } catch {
      // Derived data: start again from the histories.
      for (const suffix of ['', '-journal']) rmSync(`${file}${suffix}`, { force: true });
      const db = new Database(file);
      db.exec(PRAGMAS);
      db.exec(SCHEMA + FACTS_SCHEMA + VECTORS_SCHEMA);
      db.exec(`PRAGMA user_version=${SCHEMA_VERSION}`);
      return new MemoryDb(db, true);
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  /** Every indexed history file with its stamp. */
  files(): Map<string, IndexedFile> {
    const rows = this.db.all('SELECT history_uid, size, mtime_ms, entries FROM files') as { history_uid: string; size: number; mtime_ms: number; entries: number }[];
    return new Map(rows.map((r) => [r.history_uid, { size: r.size, mtimeMs: r.mtime_ms, entries: r.entries }]));
  }

  file(historyUid: string): IndexedFile | undefined {
    const r = this.db.get('SELECT size, mtime_ms, entries FROM files WHERE history_uid = ?', [historyUid]) as { size: number; mtime_ms: number; entries: number } | null;
    return r ? { size: r.size, mtimeMs: r.mtime_ms, entries: r.entries } : undefined;
  }

  /** The indexed message at `index` of a history (to tell an append from an edit). */
  message(historyUid: string, index: number): IndexedMessage | undefined {
    const r = this.db.get('SELECT idx, role, name, content, timestamp FROM messages WHERE history_uid = ? AND idx = ?', [historyUid, index]);
    return r ? toMessage(r) : undefined;
  }

  /**
   * Records a history's messages from `fromIndex` on (earlier ones stay as indexed; 0 replaces them all) and the
   * file's stamp, in one transaction.
   */
  put(historyUid: string, stamp: FileStamp, entries: number, messages: readonly IndexedMessage[], fromIndex: number): void {
    this.transaction(() => {
      const deleted = this.remove('history_uid = ? AND idx >= ?', [historyUid, fromIndex]);
      if (deleted > 0) this.vectors.invalidate();
      // What the user told memory to forget stays forgotten when the file is read again.
      const forgotten = new Set((this.db.all('SELECT idx FROM forgotten WHERE history_uid = ?', [historyUid]) as { idx: number }[]).map((r) => Number(r.idx)));
      if (forgotten.has(-1)) messages = [];
      const added = messages.filter((m) => m.index >= fromIndex && !forgotten.has(m.index));
      const insert = this.db.prepare('INSERT INTO messages(history_uid, idx, role, name, content, timestamp) VALUES (?, ?, ?, ?, ?, ?)');
      try {
        for (const m of added) this.total += insert.run([historyUid, m.index, m.role, m.name, m.content, m.timestamp]).changes;
      } finally {
        insert.finalize();
      }
      this.terms.change(added.map((m) => m.content), 1);
      this.db.run('INSERT OR REPLACE INTO files(history_uid, size, mtime_ms, entries) VALUES (?, ?, ?, ?)', [historyUid, stamp.size, stamp.mtimeMs, entries]);
    });
  }

  /** Forgets a history that no longer exists: its messages, its stamp, and what was forgotten of it. */
  forget(historyUid: string): void {
    this.transaction(() => {
      this.remove('history_uid = ?', [historyUid]);
      this.vectors.invalidate();
      this.db.run('DELETE FROM files WHERE history_uid = ?', [historyUid]);
      this.db.run('DELETE FROM forgotten WHERE history_uid = ?', [historyUid]);
      this.db.run('DELETE FROM extracted WHERE history_uid = ?', [historyUid]);
      this.facts.forgetHistory(historyUid);
    });
  }

  /**
   * The user forgets one message (`index`) or a whole conversation (no index): removed from memory and never indexed
   * again while its history exists (the history itself is left as it is). The number of messages forgotten.
   */
  forgetByUser(historyUid: string, index?: number): number {
    let n = 0;
    this.transaction(() => {
      n = index === undefined ? this.remove('history_uid = ?', [historyUid]) : this.remove('history_uid = ? AND idx = ?', [historyUid, index]);
      this.vectors.invalidate();
      this.db.run('INSERT OR IGNORE INTO forgotten(history_uid, idx) VALUES (?, ?)', [historyUid, index ?? -1]);
      if (index === undefined) this.facts.forgetHistory(historyUid);
    });
    return n;
  }

  /** The conversations memory holds, the most recent first. */
  conversations(): RememberedConversation[] {
    const rows = this.db.all(
      'SELECT history_uid, count(*) AS n, min(timestamp) AS first, max(timestamp) AS last FROM messages GROUP BY history_uid ORDER BY last DESC',
    ) as Record<string, unknown>[];
    return rows.map((r) => ({ history_uid: String(r.history_uid), messages: Number(r.n), first: String(r.first), last: String(r.last) }));
  }

  /** Messages by their row ids (the nearest embeddings' messages), as search hits scored `score`. */
  byIds(scored: readonly { id: number; score: number }[]): MemoryHit[] {
    if (scored.length === 0) return [];
    const rows = this.db.all(`SELECT id, history_uid, idx, role, name, content, timestamp FROM messages WHERE id IN (${scored.map(() => '?').join(',')})`, scored.map((s) => s.id)) as Record<string, unknown>[];
    const byId = new Map(rows.map((r) => [Number(r.id), r]));
    return scored.flatMap(({ id, score }) => {
      const row = byId.get(id);
      return row ? [{ history_uid: String(row.history_uid), ...toMessage(row), score }] : [];
    });
  }

  /** The messages memory holds of one conversation, in their order. */
  messages(historyUid: string): IndexedMessage[] {
    return (this.db.all('SELECT idx, role, name, content, timestamp FROM messages WHERE history_uid = ? ORDER BY idx', [historyUid]) as Record<string, unknown>[]).map(toMessage);
  }

  /** Messages count (all histories). */
  count(): number {
    return this.total;
  }

  /** Removes the messages `where` selects, and their words from the counts; how many were removed. */
  private remove(where: string, args: (string | number)[]): number {
    const contents = (this.db.all(`SELECT content FROM messages WHERE ${where}`, args) as { content: string }[]).map((r) => r.content);
    if (contents.length === 0) return 0;
    this.terms.change(contents, -1);
    const n = this.db.run(`DELETE FROM messages WHERE ${where}`, args).changes;
    this.total -= n;
    return n;
  }

  /**
   * The `k` messages best matching the terms (see memory-query.ts), outside `excludeUid`, best first, each text
   * once (a line said many times is recalled once). The full-text table ranks alone, and only its best candidates are
   * read from the messages: joining every match before ranking made a search several times slower.
   */
  search(terms: readonly string[], k: number, excludeUid?: string): MemoryHit[] {
    const { match, fromRowid } = planSearch(this.db, this.terms, this.total, terms);
    if (!match) return [];
    for (let limit = Math.max(20, k * 4); ; limit *= 4) {
      const ranked = this.db.all('SELECT rowid AS id, -bm25(messages_fts) AS score FROM messages_fts WHERE messages_fts MATCH ? AND rowid >= ? ORDER BY bm25(messages_fts) LIMIT ?', [match, fromRowid, limit]) as { id: number; score: number }[];
      if (ranked.length === 0) return [];
      const rows = this.db.all(`SELECT id, history_uid, idx, role, name, content, timestamp FROM messages WHERE id IN (${ranked.map(() => '?').join(',')})`, ranked.map((r) => r.id)) as Record<string, unknown>[];
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      const hits: MemoryHit[] = [];
      const seen = new Set<string>();
      for (const { id, score } of ranked) {
        const row = byId.get(id);
        if (!row || row.history_uid === excludeUid) continue;
        const text = String(row.content).toLowerCase().replace(/\s+/g, ' ').trim();
        if (seen.has(text)) continue;
        seen.add(text);
        hits.push({ history_uid: String(row.history_uid), ...toMessage(row), score: Number(score) });
        if (hits.length === k) return hits;
      }
      // Fewer than k left after the current history and repeated lines: look further, unless nothing more matches.
      if (ranked.length < limit || limit >= k * 64) return hits;
    }
  }

  /**
   * Reads in one transaction: the file is locked once for them all. The WebAssembly build locks the file for every
   * statement outside a transaction (a folder made and removed), about 0.3 ms each: most of a search's time.
   */
  reading<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    this.db.exec('BEGIN');
    try {
      return work();
    } finally {
      this.db.exec('COMMIT');
    }
  }

  private transaction(work: () => void) {
    this.db.exec('BEGIN');
    try {
      work();
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }
}

function toMessage(r: Record<string, unknown>): IndexedMessage {
  return { index: Number(r.idx), role: String(r.role), name: r.name === null || r.name === undefined ? null : String(r.name), content: String(r.content), timestamp: String(r.timestamp) };
}
