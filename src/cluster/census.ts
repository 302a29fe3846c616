import { z } from 'zod';
import { fromPromise } from 'xstate';
import type { SessionView } from '../observability/session-board.js';
import type { RedisLink } from './redis-link.js';
import type { Elsewhere } from '../../machines/cluster.machine.js';

/**
 * Each instance's census in Redis: `vas:census:<instance_id>` holds its sessions as JSON and expires after
 * `ttlSeconds` unless the instance writes it again, so an instance that dies leaves the list by itself.
 */
const KEY_PREFIX = 'vas:census:';

const censusSchema = z.object({
  instance_id: z.string(),
  url: z.string().nullable(),
  updated_at: z.string(),
  sessions: z.array(z.object({ clientUid: z.string(), state: z.string() }).passthrough()),
});
export type Census = z.infer<typeof censusSchema>;

/**
 * The cluster machine's `publishCensus`: this instance's sessions, written with their time to live; then the other
 * instances' sessions, read back (client uid → instance id).
 */
export function createPublishCensus(link: RedisLink, options: { ttlSeconds: number; url: () => string | null; sessions: () => SessionView[] }) {
  return fromPromise<Elsewhere, { instanceId: string }>(async ({ input }) => {
    const census: Census = { instance_id: input.instanceId, url: options.url(), updated_at: new Date().toISOString(), sessions: options.sessions().map((s) => ({ ...s })) };
    await link.ready().set(KEY_PREFIX + input.instanceId, JSON.stringify(census), { expiration: { type: 'EX', value: options.ttlSeconds } });
    const elsewhere: Elsewhere = {};
    for (const other of await readCensus(link)) {
      if (other.instance_id === input.instanceId) continue;
      for (const session of other.sessions) elsewhere[session.clientUid] = other.instance_id;
    }
    return elsewhere;
  });
}

/** Every live instance's census (throws ClusterUnavailable while Redis does not answer), ordered by instance id. */
export async function readCensus(link: RedisLink): Promise<Census[]> {
  const client = link.ready();
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${KEY_PREFIX}*`, COUNT: 100 })) keys.push(...batch.map(String));
  if (keys.length === 0) return [];
  const values = await client.mGet(keys);
  const out: Census[] = [];
  for (const value of values) {
    if (typeof value !== 'string') continue; // expired between the scan and the read
    const parsed = censusSchema.safeParse(JSON.parse(value));
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.instance_id.localeCompare(b.instance_id));
}
