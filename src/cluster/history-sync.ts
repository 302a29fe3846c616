import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FileLock } from '../history/file-lock.js';
import { HistoryError } from '../history/history-error.js';
import type { Logger } from '../observability/logger.js';
import type { RedisLink } from './redis-link.js';
import { publishMail } from './mail.js';

/**
 * chat_history/ shared by every instance (system_config.cluster): each append and delete holds the file's lock in
 * Redis, so appends from two instances are never lost; and each instance tells the others what it wrote on the
 * channel `vas:history`, so their lists and memory learn of it without reading the folder again.
 */
export const HISTORY_CHANNEL = 'vas:history';

/** A lock lives this long unless released (a write takes milliseconds; an instance that dies frees it by then). */
const LOCK_TTL_MS = 10_000;
/** How long a write waits for another instance's write of the same file. */
const LOCK_WAIT_MS = 5_000;
/** Frees the lock only if it is still ours (it may have expired and been taken). */
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export function redisFileLock(link: RedisLink, root: string, logger: Logger): FileLock {
  let warned = false;
  const unlocked = <T>(work: () => Promise<T>, why: string) => {
    if (!warned) logger.warn(`cluster: history writes are ordered within this instance only while Redis is away (${why})`);
    warned = true;
    return work();
  };
  return {
    shared: true,
    async around(file, work) {
      const key = `vas:lock:${path.relative(root, file)}`;
      const token = randomUUID();
      const deadline = Date.now() + LOCK_WAIT_MS;
      let client;
      try {
        client = link.ready();
        for (let attempt = 0; ; attempt++) {
          const taken = await client.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: LOCK_TTL_MS } });
          if (taken === 'OK') break;
          if (Date.now() > deadline) throw new HistoryError('history_busy', `history ${path.basename(file, '.json')} is being written by another instance; try again`);
          await link.pause(Math.min(2 ** attempt, 50));
        }
      } catch (err) {
        if (err instanceof HistoryError) throw err;
        return unlocked(work, (err as Error).message);
      }
      warned = false;
      try {
        return await work();
      } finally {
        await client.eval(RELEASE, { keys: [key], arguments: [token] }).catch(() => undefined);
      }
    },
  };
}

const newsSchema = z.object({ from: z.string(), conf_uid: z.string(), history_uid: z.string(), deleted: z.boolean() });

/** Tells the other instances that this one wrote or deleted a history (best effort: a list finds it anyway). */
export function announceHistory(link: RedisLink, instanceId: string) {
  // Redis away: nothing is sent, and the other instances' next list compares the folder (its time changed).
  return (confUid: string, historyUid: string, deleted: boolean) =>
    void publishMail(link, HISTORY_CHANNEL, { from: instanceId, conf_uid: confUid, history_uid: historyUid, deleted });
}

/** What another instance said it wrote, for `learn`; its own messages and anything malformed are ignored. */
export function historyNews(instanceId: string, learn: (confUid: string, historyUid: string, deleted: boolean) => void) {
  return (message: string) => {
    let parsed;
    try {
      parsed = newsSchema.safeParse(JSON.parse(message));
    } catch {
      return;
    }
    if (parsed.success && parsed.data.from !== instanceId) learn(parsed.data.conf_uid, parsed.data.history_uid, parsed.data.deleted);
  };
}
