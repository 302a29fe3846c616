import { fromCallback, type AnyActorRef, type EventObject } from 'xstate';
import type { RemoteMemberInput, ToRemoteTurn } from '../../machines/group-protocol.js';
import type { Logger } from '../observability/logger.js';
import { sendGroupMail, type GroupMail, type GroupMailEvent } from './group-mail.js';
import { heartbeat, type PeerTimes } from './heartbeat.js';
import type { RedisLink } from './redis-link.js';

/** Events a member's session may send its group, taken from the other instance as they are (their uid checked). */
const SESSION_EVENTS = new Set(['group.input', 'group.interrupt', 'group.playback-complete', 'group.audio-play-start', 'group.invite', 'group.remove', 'group.member-gone']);
/** Events of a member turn run on the member's instance, handed to the group conversation as its own turn's. */
const TURN_EVENTS = new Set(['turn.frame', 'turn.finished', 'turn.user-message']);

/**
 * On the group's instance: a member connected to another instance, as the group and its conversation see a member
 * (a child of the group, `remote.<uid>`). What they send it goes to that instance's group link; what the link sends
 * comes back as the session's events to the group, and as its turn's events to the conversation that asked for the
 * turn. It offers the group first, and declines for the invitee if nobody answers in time; it pings, and tells the
 * group the member is gone when the other instance says nothing for `silenceMs`.
 */
export function createRemoteMember(link: RedisLink, instanceId: string, times: PeerTimes, logger: Logger) {
  return fromCallback<EventObject, RemoteMemberInput, EventObject>(({ input, receive, sendBack, self }) => {
    const { groupId, uid, instance } = input;
    const log = logger.child({ client_uid: uid });
    const send = (kind: GroupMail['kind'], fields: Record<string, unknown> = {}) => sendGroupMail(link, instance, { kind, from: instanceId, group: groupId, uid, ...fields });
    const state = { answered: false, gone: false, replyTo: null as AnyActorRef | null, confirmTo: null as AnyActorRef | null };
    const gone = (why: string) => {
      if (state.gone) return;
      state.gone = true;
      log.info(`cluster: group member ${uid} on instance ${instance} is gone (${why})`);
      sendBack(state.answered ? { type: 'group.member-gone', uid } : { type: 'group.offer-declined', uid, reason: `Invitee ${uid} did not answer` });
    };
    const beat = heartbeat(times, () => send('ping-down'), gone);
    send('offer', { inviter: input.inviterUid });

    receive((event) => {
      if (state.gone) return;
      switch (event.type) {
        case 'group.mail':
          return take((event as GroupMailEvent).mail);
        case 'group.changed': {
          const { membership, frames } = event as unknown as { membership: { id: string; members: string[]; ownerUid: string } | null; frames: unknown[] };
          send('changed', { membership: membership ? { id: membership.id, members: membership.members, ownerUid: membership.ownerUid } : null, frames });
          return;
        }
        case 'group.turn-request': {
          const { replyTo, type: _type, ...request } = event as unknown as { replyTo: AnyActorRef; type: string };
          state.replyTo = replyTo;
          send('turn-request', { request });
          return;
        }
        case 'group.record': {
          const { confirmTo, messages } = event as unknown as { confirmTo?: AnyActorRef; messages: unknown[] };
          if (confirmTo) state.confirmTo = confirmTo;
          send('record', { messages, confirm: confirmTo !== undefined });
          return;
        }
        // What the conversation has for the speaker's turn (its playback, its reply on disk): the turn's own event.
        case 'conv.to-turn':
          send('to-turn', { event: (event as ToRemoteTurn & { type: 'conv.to-turn' }).event });
          return;
        case 'group.deliver':
        case 'group.remember':
        case 'group.remember-interrupt':
        case 'conv.turn-stop': {
          const kind = ({ 'group.deliver': 'deliver', 'group.remember': 'remember', 'group.remember-interrupt': 'remember-interrupt', 'conv.turn-stop': 'turn-stop' } as const)[event.type];
          send(kind, { event });
          return;
        }
      }
    });

    function take(mail: GroupMail) {
      if (mail.from !== instance) return;
      beat.heard();
      switch (mail.kind) {
        case 'accepted':
          state.answered = true;
          sendBack({ type: 'group.offer-accepted', uid, ref: self, name: typeof mail.name === 'string' ? mail.name : undefined });
          return;
        case 'declined':
          state.gone = true;
          sendBack({ type: 'group.offer-declined', uid, reason: String(mail.reason ?? `Invitee ${uid} declined`) });
          return;
        case 'event': {
          const e = mail.event as { type?: unknown; uid?: unknown } | undefined;
          if (e && typeof e.type === 'string' && SESSION_EVENTS.has(e.type) && (e.uid === undefined || e.uid === uid)) sendBack(e as EventObject);
          if (e?.type === 'group.member-gone') state.gone = true;
          return;
        }
        case 'turn-started':
          state.replyTo?.send({ type: 'group.turn-remote', uid, speaker: mail.speaker });
          return;
        case 'turn-unavailable':
          state.replyTo?.send({ type: 'group.turn-unavailable', reason: String(mail.reason ?? 'unavailable') });
          return;
        case 'turn-event': {
          const e = mail.event as { type?: unknown } | undefined;
          if (e && typeof e.type === 'string' && TURN_EVENTS.has(e.type)) state.replyTo?.send(e as EventObject);
          return;
        }
        case 'turn-ended':
          state.replyTo?.send({ type: 'turn.remote-ended', uid, error: typeof mail.error === 'string' ? mail.error : null });
          return;
        case 'recorded':
          state.confirmTo?.send({ type: 'group.recorded', uid });
          return;
      }
    }

    return () => {
      if (!state.gone) send('gone');
      state.gone = true;
      beat.stop();
    };
  });
}
