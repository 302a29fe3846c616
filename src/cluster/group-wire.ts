import { fromCallback, type EventObject } from 'xstate';
import type { GroupLinkInput, WireCommand } from '../../machines/group-link.machine.js';
import { sendGroupMail, type GroupMail } from './group-mail.js';
import { heartbeat, type PeerTimes } from './heartbeat.js';
import type { RedisLink } from './redis-link.js';

/**
 * A group link's wire (machines/group-link.machine.ts): what the link says goes to the group's instance as mail; it
 * pings that instance, and reports `wire.silent` when the group's side has not pinged for `silenceMs` (the link
 * tells it `wire.heard` at each of its pings).
 */
export function createGroupWire(link: RedisLink, instanceId: string, times: PeerTimes) {
  return fromCallback<WireCommand | { type: 'wire.heard' }, GroupLinkInput, EventObject>(({ input, receive, sendBack }) => {
    const mail = (kind: string, fields: Record<string, unknown> = {}) =>
      sendGroupMail(link, input.owner, { kind: kind as GroupMail['kind'], from: instanceId, group: input.groupId, uid: input.uid, ...fields });
    const beat = heartbeat(times, () => mail('ping-up'), () => sendBack({ type: 'wire.silent' }));
    receive((command) => {
      if (command.type === 'wire.heard') beat.heard();
      else mail(command.kind, command.fields);
    });
    return beat.stop;
  });
}
