/**
 * A full-text table (SQLite FTS5, BM25 ranking) kept in step with a plain table by triggers: `<table>_fts` indexes
 * one text column of `<table>` (external content, so the text is stored once). With `updates`, an updated row is
 * indexed again too (facts change; messages are only added and deleted).
 */
export function ftsTableFor(table: string, column: string, options: { updates?: boolean } = {}): string {
  const fts = `${table}_fts`;
  const remove = `INSERT INTO ${fts}(${fts}, rowid, ${column}) VALUES ('delete', old.id, old.${column});`;
  const add = `INSERT INTO ${fts}(rowid, ${column}) VALUES (new.id, new.${column});`;
  return `
CREATE VIRTUAL TABLE IF NOT EXISTS ${fts} USING fts5(${column}, content='${table}', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS ${table}_ai AFTER INSERT ON ${table} BEGIN ${add} END;
CREATE TRIGGER IF NOT EXISTS ${table}_ad AFTER DELETE ON ${table} BEGIN ${remove} END;
${options.updates ? `CREATE TRIGGER IF NOT EXISTS ${table}_au AFTER UPDATE ON ${table} BEGIN ${remove} ${add} END;` : ''}
`;
}
