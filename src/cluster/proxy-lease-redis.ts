import { fromPromise } from 'xstate';
import type { AcquireInput } from '../../machines/proxy-lease.machine.js';
import type { RedisLink } from './redis-link.js';

/** The `/proxy-ws` lease in Redis (machines/proxy-lease.machine.ts decides when to take, renew or give it up). */
export const PROXY_LEASE_KEY = 'vas:proxy:lease';

/** Takes the lease if free (when asked to); answers the holder either way, in one step. */
const ACQUIRE = "local v = redis.call('get', KEYS[1]); if (not v) and ARGV[3] == '1' then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]); return ARGV[1] end; return v";
/** Extends the lease if ours; takes it if Redis lost it (a restart); 0 when another instance holds it. */
const RENEW =
  "local v = redis.call('get', KEYS[1]); if v == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]); return 1 elseif not v then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1 end; return 0";

export function createLeaseActors(link: RedisLink) {
  return {
    acquire: fromPromise<string | null, AcquireInput>(async ({ input }) => {
      const holder = await link.ready().eval(ACQUIRE, { keys: [PROXY_LEASE_KEY], arguments: [input.instanceId, String(Math.round(input.ttlMs)), input.take ? '1' : '0'] });
      return typeof holder === 'string' ? holder : null;
    }),
    renew: fromPromise<boolean, { instanceId: string; ttlMs: number }>(async ({ input }) => {
      const kept = await link.ready().eval(RENEW, { keys: [PROXY_LEASE_KEY], arguments: [input.instanceId, String(Math.round(input.ttlMs))] });
      return kept === 1;
    }),
  };
}
