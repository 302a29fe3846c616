import { z } from 'zod';
import type { ActorSystem } from 'xstate';
import { SERVER_SYSTEM_ID } from '../../machines/system-ids.js';
import { groupLinkSystemId } from '../../machines/group-link.machine.js';
import { remoteMemberSystemId } from '../../machines/group.machine.js';
import type { Logger } from '../observability/logger.js';
import type { RedisLink } from './redis-link.js';
import { publishMail, readMail } from './mail.js';

/**
 * A chat group across instances (docs/cluster.md): the group runs on the instance of the member who created it; a
 * member connected to another instance is, on the group's side, a `remoteMember` (src/cluster/remote-member.ts) and,
 * on its own instance, a group link (machines/group-link.machine.ts) that its session takes for its group. The two
 * talk on each instance's channel `vas:group:<instance id>`, in order (one publisher's messages keep theirs).
 *
 * Group side → member side: offer, changed, deliver, turn-request, remember, remember-interrupt, record, to-turn,
 * turn-stop, gone, ping. Member side → group side: accepted, declined, event, turn-started, turn-event, turn-ended,
 * turn-unavailable, recorded, ping.
 */
export const groupChannel = (instanceId: string) => `vas:group:${instanceId}`;

const TO_MEMBER = ['offer', 'changed', 'deliver', 'turn-request', 'remember', 'remember-interrupt', 'record', 'to-turn', 'turn-stop', 'gone', 'ping-down'] as const;
const TO_GROUP = ['accepted', 'declined', 'event', 'turn-started', 'turn-event', 'turn-ended', 'turn-unavailable', 'recorded', 'ping-up'] as const;

const mailSchema = z.looseObject({
  kind: z.enum([...TO_MEMBER, ...TO_GROUP]),
  /** The instance that sent it. */
  from: z.string(),
  group: z.string(),
  /** The member it is about. */
  uid: z.string(),
});

/** One message between the two sides of a member's link; its other fields depend on `kind`. */
export type GroupMail = z.infer<typeof mailSchema> & Record<string, unknown>;
export type GroupMailEvent = { type: 'group.mail'; mail: GroupMail };

/** Sends `mail` to instance `to`; false while Redis does not answer (the pings tell when a link is lost). */
export function sendGroupMail(link: RedisLink, to: string, mail: GroupMail): boolean {
  return publishMail(link, groupChannel(to), mail);
}

/**
 * This instance's group channel, read: an offer goes to the server (which starts a group link for the invitee's
 * session), the rest to the link or the remote member it is for. Malformed mail is logged and dropped.
 */
export function groupMailbox(logger: Logger) {
  return (message: string, system: ActorSystem<any>) => {
    const mail = readMail<GroupMail>(mailSchema, message, logger, 'group');
    if (!mail) return;
    const event: GroupMailEvent = { type: 'group.mail', mail };
    if (mail.kind === 'offer') system.get(SERVER_SYSTEM_ID)?.send(event);
    else if ((TO_MEMBER as readonly string[]).includes(mail.kind)) system.get(groupLinkSystemId(mail.group, mail.uid))?.send(event);
    else system.get(remoteMemberSystemId(mail.group, mail.uid))?.send(event);
  };
}
