import { fromCallback } from 'xstate';
import type { GroupRecordEvent } from '../../machines/group.machine.js';
import type { Logger } from '../observability/logger.js';
import { bestEffort, type RedisLink } from './redis-link.js';

/** Where a group's record is: a hash of `instance`, `owner_uid`, `members` (a JSON array of uids), `updated_at`. */
export const groupRecordKey = (groupId: string) => `vas:groups:${groupId}`;

/**
 * Writes the record if this instance holds it or nobody does, and (re)sets its time to live: the record is the
 * group's lease. 0 when another instance holds it (a group of the same owner, on an instance that died: its record
 * lapses within a lease, and the next renewal takes it).
 */
const WRITE =
  "local v = redis.call('hget', KEYS[1], 'instance'); if v and v ~= ARGV[1] then return 0 end; " +
  "redis.call('hset', KEYS[1], 'instance', ARGV[1], 'owner_uid', ARGV[2], 'members', ARGV[3], 'updated_at', ARGV[4]); redis.call('pexpire', KEYS[1], ARGV[5]); return 1";
/** Deletes the record only if it is still this instance's. */
const DROP = "if redis.call('hget', KEYS[1], 'instance') == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * A chat group's record in Redis, with system_config.cluster (docs/cluster.md): which instance runs the group, its
 * owner and its members, written at each change and renewed every quarter of a lease. The group's child `record`, so
 * the record goes when the group ends; an instance that dies leaves it to lapse within `leaseMs`. While Redis is away
 * nothing is written; the next renewal after it is back writes it again.
 */
export function createGroupRecord(link: RedisLink, instanceId: string, leaseMs: number, logger: Logger) {
  return fromCallback<GroupRecordEvent, { groupId: string }>(({ input, receive }) => {
    const key = groupRecordKey(input.groupId);
    let current: GroupRecordEvent | null = null;
    let heldElsewhere = false;
    // Redis away: nothing is written, and the renewal after it is back writes it.
    const write = () => {
      if (!current) return;
      const args = [instanceId, current.ownerUid, JSON.stringify(current.members), new Date().toISOString(), String(Math.round(leaseMs))];
      void bestEffort(link, (client) => client.eval(WRITE, { keys: [key], arguments: args }))?.then((written) => {
        if (written === undefined) return;
        if (written === 0 && !heldElsewhere) logger.warn(`cluster: group ${input.groupId} is still recorded by another instance; it is recorded here once that record lapses`);
        heldElsewhere = written === 0;
      });
    };
    const renewal = setInterval(write, leaseMs / 4);
    receive((event) => {
      current = event;
      write();
    });
    return () => {
      clearInterval(renewal);
      // Redis away: the record lapses by itself.
      void bestEffort(link, (client) => client.eval(DROP, { keys: [key], arguments: [instanceId] }));
    };
  });
}

/** Every group's record, for `/sessions/instances`. */
export async function readGroupRecords(link: RedisLink): Promise<Array<{ group_id: string; instance: string; owner_uid: string; members: string[]; updated_at: string }>> {
  const client = link.ready();
  const records = [];
  for await (const keys of client.scanIterator({ MATCH: groupRecordKey('*'), COUNT: 100 })) {
    for (const k of keys) {
      const r = await client.hGetAll(k);
      if (!r.instance) continue;
      let members: string[] = [];
      try {
        members = JSON.parse(r.members ?? '[]') as string[];
      } catch {
        // Not written by this server: shown with no members.
      }
      records.push({ group_id: k.slice(groupRecordKey('').length), instance: r.instance, owner_uid: r.owner_uid ?? '', members, updated_at: r.updated_at ?? '' });
    }
  }
  return records;
}
