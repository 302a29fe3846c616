import type { Express } from 'express';
import { z } from 'zod';
import { HistoryError } from '../history/history-error.js';
import type { MemoryHit } from '../memory/memory-db.js';
import { mayViewSessions } from './sessions-page.js';

/** What the memory routes read: the index (absent when system_config.memory is off). */
export interface MemoryAccess {
  /** Null: no such character; else its best matches. Throws HistoryError for a conf_uid that cannot name a folder. */
  search?: (confUid: string, query: string, k: number) => MemoryHit[] | null;
  /** Served to other machines too (system_config.sessions_page_public), as /sessions is. */
  isPublic: boolean;
}

const searchQuery = z.object({
  character: z.string().min(1),
  q: z.string().min(1).max(2000),
  k: z.coerce.number().int().min(1).max(100).default(5),
});

/**
 * `GET /memory/search?character=<conf_uid>&q=<text>&k=<n>`: what long-term memory would recall for a text, so that
 * tools and tests can ask. Like /sessions it shows what users said, so it is served to this machine only by default.
 * `index` is the message's position in its history file's array (the metadata entry is 0).
 */
export function mountMemoryRoutes(app: Express, access: MemoryAccess): void {
  app.get('/memory/search', (req, res) => {
    if (!mayViewSessions(req.socket.remoteAddress, access.isPublic)) {
      res.status(403).json({ error: 'memory is only served to this machine (set system_config.sessions_page_public to change that)' });
      return;
    }
    if (!access.search) {
      res.status(404).json({ error: 'long-term memory is off (system_config.memory.enabled)' });
      return;
    }
    const params = searchQuery.safeParse(req.query);
    if (!params.success) {
      res.status(400).json({ error: `bad parameters: ${params.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      return;
    }
    const { character, q, k } = params.data;
    try {
      const found = access.search(character, q, k);
      if (found === null) {
        res.status(404).json({ error: `no character "${character}" has histories` });
        return;
      }
      res.json({
        results: found.map((h) => ({ history_uid: h.history_uid, index: h.index, role: h.role, name: h.name, content: h.content, timestamp: h.timestamp, score: h.score })),
      });
    } catch (err) {
      if (err instanceof HistoryError) res.status(400).json({ error: (err as Error).message });
      else res.status(500).json({ error: `memory search failed: ${(err as Error).message}` });
    }
  });
}
