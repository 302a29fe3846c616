import { readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FileStamp } from '../history/durable-file.js';
import { isMessage } from '../history/history-format.js';
import { confDir, historyFile, historyUidOf } from '../history/history-paths.js';
import { readdirSync } from 'node:fs';
import { MemoryDb, type IndexedMessage, type MemoryHit, type RememberedConversation } from './memory-db.js';
import { matchOf, queryTerms } from './memory-query.js';
import type { LearnedFact } from './memory-facts.js';
import type { Distil } from './memory-extract.js';
import type { Embed } from './memory-embeddings.js';

/** Reciprocal rank fusion's constant: a result's weight in a list is 1 / (RRF_K + its rank). */
const RRF_K = 60;

/** The index file in each character's folder (hidden, and not `.json`: never taken for a history). */
export const MEMORY_FILE = '.memory.sqlite';

/** A stamp that matches no file: the file is read again at the next look. */
const UNSURE: FileStamp = { size: -1, mtimeMs: -1 };

const sameStamp = (a: FileStamp, b: FileStamp) => a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * Every character's memory: one index (memory-db.ts) per folder of `chat_history/`, opened on first use, kept in step
 * with the history files. A character's first job in this process reconciles its whole folder (files added, removed
 * or edited while the server was not running, or a new or rebuilt index); later jobs bring one history up to date,
 * reading only what was appended when the indexed part is unchanged.
 *
 * The work is the memory actor's (machines/memory.machine.ts), one job at a time; searches are synchronous reads.
 */
export class MemoryIndex {
  private readonly dbs = new Map<string, MemoryDb>();
  /** Characters whose folder was reconciled with their index in this process. */
  private readonly reconciled = new Set<string>();
  /** Closed with the server: a job still running finds no index (and opens none). */
  private closed = false;

  constructor(readonly root: string) {}

  /** Whether a character has a history folder (throws HistoryError for a conf_uid that cannot name one). */
  hasCharacter(confUid: string): boolean {
    return existsSync(confDir(this.root, confUid));
  }

  /** The `k` messages of a character's histories that best match `text` (outside `excludeUid`), best first. */
  search(confUid: string, text: string, k: number, excludeUid?: string): MemoryHit[] {
    const terms = queryTerms(text);
    if (terms.length === 0 || k <= 0 || !this.hasCharacter(confUid)) return [];
    const db = this.db(confUid);
    return db.reading(() => db.search(terms, k, excludeUid));
  }

  /**
   * Lexical and semantic recall fused by rank (reciprocal rank fusion): the `k` messages best placed in both lists,
   * the BM25 one and the one nearest to `query` (the text's embedding by `model`), each text once. Without a query
   * vector, or before any message has an embedding, the lexical list alone.
   */
  searchHybrid(confUid: string, text: string, k: number, excludeUid: string | undefined, query?: { model: string; vector: Float32Array }): MemoryHit[] {
    if (!query || !this.hasCharacter(confUid)) return this.search(confUid, text, k, excludeUid);
    const db = this.db(confUid);
    const [lexical, semantic] = db.reading(() => [
      this.search(confUid, text, k * 4, excludeUid),
      db.byIds(db.vectors.nearest(query.model, query.vector, k * 8)).filter((h) => h.history_uid !== excludeUid),
    ]);
    const fused = new Map<string, { hit: MemoryHit; score: number }>();
    for (const list of [lexical, semantic]) {
      list.forEach((hit, rank) => {
        const key = hit.content.toLowerCase().replace(/\s+/g, ' ').trim();
        const known = fused.get(key);
        if (known) known.score += 1 / (RRF_K + rank + 1);
        else fused.set(key, { hit, score: 1 / (RRF_K + rank + 1) });
      });
    }
    return [...fused.values()]
      .sort((a, b) => b.score - a.score)
      .slice(0, k)
      .map(({ hit, score }) => ({ ...hit, score }));
  }

  /** Gives every message without an embedding by `model` one, 64 at a time (a job of the memory actor). */
  async embedMissing(confUid: string, model: string, embed: Embed, signal: AbortSignal): Promise<void> {
    if (!this.hasCharacter(confUid)) return;
    const db = this.db(confUid);
    for (;;) {
      const rows = db.vectors.missing(model, 64);
      if (rows.length === 0) return;
      const vectors = await embed(
        rows.map((r) => r.content),
        signal,
      );
      signal.throwIfAborted();
      db.vectors.add(
        model,
        rows.map((r, i) => ({ id: r.id, v: vectors[i]! })),
      );
    }
  }

  /** The `k` learned facts that best match `text` (not learned from `excludeUid`), best first. */
  searchFacts(confUid: string, text: string, k: number, excludeUid?: string): Array<LearnedFact & { score: number }> {
    const terms = queryTerms(text);
    if (terms.length === 0 || k <= 0 || !this.hasCharacter(confUid)) return [];
    const db = this.db(confUid);
    return db.reading(() => db.facts.search(matchOf(terms), k, excludeUid));
  }

  /** What a turn recalls: the facts learned and the messages that best match `text`, read together (one lock). */
  recall(confUid: string, text: string, k: number, excludeUid: string | undefined, query?: { model: string; vector: Float32Array }) {
    if (!this.hasCharacter(confUid)) return { facts: [], hits: [] };
    const db = this.db(confUid);
    return db.reading(() => ({ facts: this.searchFacts(confUid, text, k, excludeUid), hits: this.searchHybrid(confUid, text, k, excludeUid, query) }));
  }

  /** Every fact a character learned, the most recent first. */
  facts(confUid: string): LearnedFact[] {
    return this.hasCharacter(confUid) ? this.db(confUid).facts.list() : [];
  }

  /** The user forgets a learned fact; whether there was one. */
  forgetFact(confUid: string, subject: string): boolean {
    return this.hasCharacter(confUid) ? this.db(confUid).facts.forgetFact(subject) : false;
  }

  /**
   * Learns from a history's messages not yet learned from (its latest exchange, at most the last 12 messages and
   * 4,000 characters) once it ends with a reply: `distil` asks the model, and the facts are recorded with their
   * source. Nothing is asked when the user said nothing new.
   */
  async extract(confUid: string, historyUid: string, distil: Distil, signal: AbortSignal): Promise<void> {
    if (!this.hasCharacter(confUid)) return;
    const db = this.db(confUid);
    const upto = db.facts.extractedUpTo(historyUid);
    const fresh = db.messages(historyUid).filter((m) => m.index > upto);
    const last = fresh.at(-1);
    // The user's words are written when a turn starts: the exchange is learned from once the reply is written too,
    // so the model is never asked while it is answering.
    if (!last || last.role === 'human') return;
    const source = { history_uid: historyUid, first_index: fresh[0]!.index, last_index: last.index, timestamp: last.timestamp };
    if (!fresh.some((m) => m.role === 'human')) return db.facts.record(historyUid, last.index, [], source);
    const exchange = fresh
      .slice(-12)
      .map((m) => `${m.role === 'human' ? 'User' : 'Assistant'}: ${m.content}`)
      .join('\n')
      .slice(-4000);
    const facts = await distil(exchange, signal);
    signal.throwIfAborted();
    db.facts.record(historyUid, last.index, facts, source);
  }

  /** Brings one history up to date (or, on the character's first job, the whole folder). */
  async sync(confUid: string, historyUid: string, signal?: AbortSignal): Promise<void> {
    if (!this.reconciled.has(confUid)) return this.reconcile(confUid, signal);
    await this.syncFile(confUid, historyUid, signal);
  }

  /** A history deleted: its messages are forgotten. */
  forget(confUid: string, historyUid: string): void {
    if (!this.hasCharacter(confUid)) return;
    this.db(confUid).forget(historyUid);
  }

  /** Reindexes what changed in a character's folder: new and edited files read, vanished ones forgotten. */
  async reconcile(confUid: string, signal?: AbortSignal): Promise<void> {
    if (!this.hasCharacter(confUid)) return;
    const db = this.db(confUid);
    const names = await readdir(confDir(this.root, confUid)).catch(() => [] as string[]);
    const present = new Set<string>();
    for (const name of names) {
      const uid = historyUidOf(name);
      if (uid === undefined) continue;
      present.add(uid);
      signal?.throwIfAborted();
      await this.syncFile(confUid, uid, signal);
    }
    for (const uid of db.files().keys()) if (!present.has(uid)) db.forget(uid);
    this.reconciled.add(confUid);
  }

  /** The characters with a history folder, each with the number of messages remembered. */
  characters(): { conf_uid: string; messages: number }[] {
    let names: string[] = [];
    try {
      names = readdirSync(this.root, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.') && !/[\\\0]/.test(e.name)).map((e) => e.name);
    } catch {
      // No chat_history/ yet.
    }
    return names.sort().map((confUid) => ({ conf_uid: confUid, messages: this.count(confUid) }));
  }

  /** A character's remembered conversations, the most recent first. */
  conversations(confUid: string): RememberedConversation[] {
    return this.hasCharacter(confUid) ? this.db(confUid).conversations() : [];
  }

  /** What is remembered of one conversation. */
  messages(confUid: string, historyUid: string): IndexedMessage[] {
    return this.hasCharacter(confUid) ? this.db(confUid).messages(historyUid) : [];
  }

  /** The user forgets a message or a conversation (see MemoryDb.forgetByUser); the number of messages forgotten. */
  forgetByUser(confUid: string, historyUid: string, index?: number): number {
    return this.hasCharacter(confUid) ? this.db(confUid).forgetByUser(historyUid, index) : 0;
  }

  /** Messages indexed for a character (the bench and tests). */
  count(confUid: string): number {
    return this.hasCharacter(confUid) ? this.db(confUid).count() : 0;
  }

  close(): void {
    this.closed = true;
    for (const db of this.dbs.values()) db.close();
    this.dbs.clear();
    this.reconciled.clear();
  }

  private db(confUid: string): MemoryDb {
    if (this.closed) throw new Error('the memory index is closed');
    let db = this.dbs.get(confUid);
    if (!db) {
      db = MemoryDb.open(path.join(confDir(this.root, confUid), MEMORY_FILE));
      this.dbs.set(confUid, db);
    }
    return db;
  }

  private async syncFile(confUid: string, historyUid: string, signal?: AbortSignal): Promise<void> {
    const db = this.db(confUid);
    const file = historyFile(this.root, confUid, historyUid);
    const before = await stat(file).catch(() => undefined);
    if (!before) return db.forget(historyUid);
    const known = db.file(historyUid);
    if (known && sameStamp(known, before)) return;
    let entries: unknown;
    try {
      entries = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      entries = null;
    }
    signal?.throwIfAborted();
    const after = await stat(file).catch(() => undefined);
    // Written again while it was read: what was read is indexed, and the file is read again at the next look.
    const stamp = after && sameStamp(after, before) ? before : UNSURE;
    if (!Array.isArray(entries)) {
      // Damaged (the history store leaves it as it is): nothing of it is recalled.
      db.put(historyUid, stamp, 0, [], 0);
      return;
    }
    const messages: IndexedMessage[] = [];
    entries.forEach((entry, index) => {
      if (!isMessage(entry) || (entry.role !== 'human' && entry.role !== 'ai')) return;
      messages.push({ index, role: entry.role, name: typeof entry.name === 'string' ? entry.name : null, content: entry.content, timestamp: String(entry.timestamp ?? '') });
    });
    db.put(historyUid, stamp, entries.length, messages, appendedFrom(db, historyUid, known?.entries ?? 0, entries));
  }
}

/** Where the new messages begin: after what was indexed if that part is unchanged (an append), else 0 (everything). */
function appendedFrom(db: MemoryDb, historyUid: string, indexedEntries: number, entries: unknown[]): number {
  if (indexedEntries <= 0 || entries.length < indexedEntries) return 0;
  for (let i = indexedEntries - 1; i >= 1; i--) {
    const entry = entries[i];
    if (!isMessage(entry)) continue;
    if (entry.role !== 'human' && entry.role !== 'ai') continue;
    // The last indexed message still in its place, unchanged: the file was appended to.
    return db.message(historyUid, i)?.content === entry.content ? indexedEntries : 0;
  }
  return 0;
}
