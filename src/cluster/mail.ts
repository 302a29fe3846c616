import type { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import { bestEffort, type RedisLink } from './redis-link.js';

/**
 * What instances say to each other on their Redis channels (proxy-mail.ts, group-mail.ts, the history news of
 * history-sync.ts): one JSON message per publication, in order per sender.
 */

/** Publishes `message` on `channel`; false while Redis does not answer (the links' pings tell when one is lost). */
export function publishMail(link: RedisLink, channel: string, message: unknown): boolean {
  return bestEffort(link, (client) => client.publish(channel, JSON.stringify(message))) !== null;
}

/** A message read from a channel, or null (logged) when it is not one this server sends. */
export function readMail<T>(schema: z.ZodType, message: string, logger: Logger, what: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(message));
    if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'unexpected shape');
    return parsed.data as T;
  } catch (err) {
    logger.warn(`cluster: dropped a ${what} message that is not one this server sends (${(err as Error).message})`);
    return null;
  }
}
