import express, { type Express, type Request, type Response } from 'express';
import { z } from 'zod';
import { HistoryError } from '../history/history-error.js';
import { HISTORY_UID } from '../history/history-format.js';
import type { MemoryIndex } from '../memory/memory-index.js';
import { MEMORY_PAGE_HTML } from './memory-page.js';
import { mayViewSessions } from './sessions-page.js';

/** What the memory routes read: the index (absent when system_config.memory is off). */
export interface MemoryAccess {
  index?: MemoryIndex;
  /** Served to other machines too (system_config.sessions_page_public), as /sessions is. */
  isPublic: boolean;
}

const character = z.string().min(1).max(255);
const historyUid = z.string().regex(HISTORY_UID);
const searchQuery = z.object({ character, q: z.string().min(1).max(2000), k: z.coerce.number().int().min(1).max(100).default(5) });
const conversationsQuery = z.object({ character });
const messagesQuery = z.object({ character, history_uid: historyUid });
const forgetBody = z.object({ character, history_uid: historyUid, index: z.number().int().min(1).optional() });
const forgetFactBody = z.object({ character, subject: z.string().min(1).max(200) });

/**
 * Long-term memory over HTTP. Like /sessions it shows what users said, so it is served to this machine only by
 * default, under the same Host and Origin rules:
 *  - `GET /memory/search?character=<conf_uid>&q=<text>&k=<n>`: what would be recalled for a text (`index` is the
 *    message's position in its history file's array, the metadata entry being 0);
 *  - `GET /memory`: the page that lists what each character remembers, with the source of each memory, and forgets
 *    a memory or a conversation, through `GET /memory/characters`, `GET /memory/conversations?character=`,
 *    `GET /memory/messages?character=&history_uid=` and `POST /memory/forget` (JSON
 *    `{"character","history_uid","index"?}`; without `index`, the whole conversation). Forgetting leaves the history
 *    file as it is: memory leaves it out for as long as it exists. What the character learned (memory.extract):
 *    `GET /memory/facts?character=` and `POST /memory/forget-fact` (`{"character","subject"}`).
 */
export function mountMemoryRoutes(app: Express, access: MemoryAccess): void {
  /** The index if this request may use it; otherwise the answer is sent. */
  const indexFor = (req: Request, res: Response): MemoryIndex | undefined => {
    if (!mayViewSessions(req.socket.remoteAddress, access.isPublic)) {
      res.status(403).json({ error: 'memory is only served to this machine (set system_config.sessions_page_public to change that)' });
      return undefined;
    }
    if (!access.index) res.status(404).json({ error: 'long-term memory is off (system_config.memory.enabled)' });
    return access.index;
  };
  /** Parses, checks the character, runs; a bad parameter is a 400, an unknown character a 404. */
  const route =
    <T extends { character: string }>(schema: z.ZodType<T>, from: (req: Request) => unknown, answer: (index: MemoryIndex, params: T, res: Response) => void) =>
    (req: Request, res: Response) => {
      const index = indexFor(req, res);
      if (!index) return;
      const params = schema.safeParse(from(req));
      if (!params.success) {
        res.status(400).json({ error: `bad parameters: ${params.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` });
        return;
      }
      try {
        if (!index.hasCharacter(params.data.character)) {
          res.status(404).json({ error: `no character "${params.data.character}" has histories` });
          return;
        }
        answer(index, params.data, res);
      } catch (err) {
        if (err instanceof HistoryError) res.status(400).json({ error: err.message });
        else res.status(500).json({ error: `memory failed: ${(err as Error).message}` });
      }
    };

  app.get(
    '/memory/search',
    route(searchQuery, (req) => req.query, (index, { character: c, q, k }, res) => {
      const results = index.search(c, q, k).map((h) => ({ history_uid: h.history_uid, index: h.index, role: h.role, name: h.name, content: h.content, timestamp: h.timestamp, score: h.score }));
      res.json({ results });
    }),
  );
  app.get('/memory', (req, res) => {
    if (indexFor(req, res)) res.type('html').send(MEMORY_PAGE_HTML);
  });
  app.get('/memory/characters', (req, res) => {
    const index = indexFor(req, res);
    if (index) res.json({ characters: index.characters() });
  });
  app.get('/memory/conversations', route(conversationsQuery, (req) => req.query, (index, p, res) => res.json({ conversations: index.conversations(p.character) })));
  app.get('/memory/facts', route(conversationsQuery, (req) => req.query, (index, p, res) => res.json({ facts: index.facts(p.character) })));
  app.get('/memory/messages', route(messagesQuery, (req) => req.query, (index, p, res) => res.json({ messages: index.messages(p.character, p.history_uid) })));
  // JSON only: a form of another site cannot send it without asking first (and its Origin is refused).
  app.post(
    '/memory/forget',
    express.json({ limit: '4kb', type: 'application/json' }),
    route(forgetBody, (req) => (req.is('application/json') ? req.body : undefined), (index, p, res) => res.json({ forgotten: index.forgetByUser(p.character, p.history_uid, p.index) })),
  );
  app.post(
    '/memory/forget-fact',
    express.json({ limit: '4kb', type: 'application/json' }),
    route(forgetFactBody, (req) => (req.is('application/json') ? req.body : undefined), (index, p, res) => res.json({ forgotten: index.forgetFact(p.character, p.subject) ? 1 : 0 })),
  );
}
