import { CLUSTER_SYSTEM_ID } from './cluster.machine.js';
import type { AnyActorRef } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { CharacterConfig } from '../src/config/conf-schema.js';
import type { ConversationInput } from './group-protocol.js';
import type { GroupMember, GroupRules, GroupTrigger, Membership, RemoteMemberInput, SessionGroupEvent } from './group-protocol.js';
import { sessionSystemId } from './system-ids.js';

/**
 * A group's membership rules as pure functions: each takes the group's context and returns a plan (the events to
 * send and the change of context), which group.machine.ts carries out. The texts of `group-operation-result` are
 * upstream's, so its client shows them as they are.
 */

export interface Offer {
  uid: string;
  inviterUid: string;
}

export interface GroupContext {
  id: string;
  members: GroupMember[];
  ownerUid: string;
  offers: Offer[];
  /** Inputs that arrived during a conversation; each starts the next one, in order. */
  queue: Array<{ uid: string; input: GroupTrigger }>;
  rules: GroupRules;
  /** The running conversation's input; null while idle. */
  conversation: ConversationInput | null;
  firstInvitee: string;
  /** With a cluster: the group keeps its record in Redis. */
  shared: boolean;
  /** Its record (the child `record`) is running. */
  recording: boolean;
}

/** What a rule decided: events to send (to a ref, or to the child `conversation`) and the context change. */
export interface Plan {
  sends: Array<[AnyActorRef | 'conversation', SessionGroupEvent | { type: 'conv.member-left'; uid: string }]>;
  update: Partial<GroupContext>;
  /** An invitee connected to another instance: the group's child that stands for it (it makes the offer). */
  remote?: RemoteMemberInput;
}

interface ActorSystem {
  get(id: string): AnyActorRef | undefined;
}

export const result = (success: boolean, message: string): ServerFrame => ({ type: 'group-operation-result', success, message });
export const NO_GROUP: ServerFrame = { type: 'group-update', members: [], is_owner: false };
const groupUpdate = (context: Pick<GroupContext, 'members' | 'ownerUid'>, uid: string): ServerFrame => ({
  type: 'group-update',
  members: context.members.map((m) => m.uid),
  is_owner: uid === context.ownerUid,
});

export const isActive = (ref: AnyActorRef) => ref.getSnapshot().status === 'active';
/** Nobody to talk to: one member and no invitation open. */
export const isLonely = (context: Pick<GroupContext, 'members' | 'offers'>) => context.members.length <= 1 && context.offers.length === 0;

export function membership(context: Pick<GroupContext, 'id' | 'members' | 'ownerUid'>, self: AnyActorRef): Membership {
  return { id: context.id, ref: self, members: context.members.map((m) => m.uid), ownerUid: context.ownerUid };
}

/** The character name a member's session shows (read from its snapshot), for the group prompt. */
function memberName(member: GroupMember): string {
  if (member.name) return member.name;
  const config = (member.ref.getSnapshot() as { context?: { character?: { config?: CharacterConfig } | null } }).context?.character?.config;
  return config?.character_name ?? member.uid;
}

/** add-client-to-group from a member: an offer to the invitee's session, or the reason it cannot be made. */
export function invite(context: GroupContext, self: AnyActorRef, system: ActorSystem, from: string, inviteeUid: string): Plan {
  const inviter = context.members.find((m) => m.uid === from);
  if (!inviter) return { sends: [], update: {} };
  const closing = isLonely(context);
  const fail = (message: string): Plan => {
    const event: SessionGroupEvent = {
      type: 'group.changed',
      membership: closing ? null : membership(context, self),
      frames: [result(false, message), ...(closing ? [NO_GROUP] : [])],
    };
    return { sends: [[inviter.ref, event]], update: {} };
  };
  if (context.rules.invite === 'owner' && from !== context.ownerUid) return fail('Only the group owner can invite members');
  if (inviteeUid === from) return fail('You cannot invite yourself');
  if (context.members.some((m) => m.uid === inviteeUid) || context.offers.some((o) => o.uid === inviteeUid)) {
    return fail(`Invitee ${inviteeUid} is already in a group`);
  }
  const invitee = system.get(sessionSystemId(inviteeUid));
  if (!invitee || !isActive(invitee)) {
    // With more than one instance, the client may be connected to another (its census says so): groups do not cross instances.
    const elsewhere = (system.get(CLUSTER_SYSTEM_ID)?.getSnapshot() as { context?: { elsewhere?: Record<string, string> } } | undefined)?.context?.elsewhere?.[inviteeUid];
    if (!elsewhere) return fail(`Invitee ${inviteeUid} does not exist`);
    if (context.members.length + context.offers.length >= context.rules.maxMembers) return fail(`The group is full (at most ${context.rules.maxMembers} members)`);
    // With more than one instance, the client may be connected to another (its census says so): a remote member.
    return { sends: [], update: { offers: [...context.offers, { uid: inviteeUid, inviterUid: from }] }, remote: { groupId: context.id, uid: inviteeUid, instance: elsewhere, inviterUid: from } };
  }
  const { maxMembers } = context.rules;
  if (context.members.length + context.offers.length >= maxMembers) return fail(`The group is full (at most ${maxMembers} members)`);
  const offer: SessionGroupEvent = { type: 'group.offer', groupId: context.id, ref: self, inviterUid: from };
  return { sends: [[invitee, offer]], update: { offers: [...context.offers, { uid: inviteeUid, inviterUid: from }] } };
}

/** The invitee's session took the offer: everybody is told, each in upstream's words for them. */
export function acceptOffer(context: GroupContext, self: AnyActorRef, uid: string, ref: AnyActorRef, name?: string): Plan {
  const offer = context.offers.find((o) => o.uid === uid);
  // Too late (the group closed its offer): the session is told it is in no group.
  if (!offer) return { sends: [[ref, { type: 'group.changed', membership: null, frames: [NO_GROUP] }]], update: {} };
  const next = { ...context, members: [...context.members, { uid, ref, ...(name ? { name } : {}) }], offers: context.offers.filter((o) => o !== offer) };
  const sends: Plan['sends'] = [];
  for (const member of next.members) {
    const frames =
      member.uid === uid
        ? [groupUpdate(next, member.uid), result(true, `You have been invited to the group by ${offer.inviterUid}`)]
        : member.uid === offer.inviterUid
          ? [result(true, `Successfully added ${uid} to the group`), groupUpdate(next, member.uid)]
          : [groupUpdate(next, member.uid), result(true, `Member ${uid} was added to the group`)];
    if (isActive(member.ref)) sends.push([member.ref, { type: 'group.changed', membership: membership(next, self), frames }]);
  }
  return { sends, update: { members: next.members, offers: next.offers } };
}

/** The invitee's session refused (busy in another group…): the inviter is told why. */
export function declineOffer(context: GroupContext, self: AnyActorRef, uid: string, reason: string): Plan {
  const offer = context.offers.find((o) => o.uid === uid);
  if (!offer) return { sends: [], update: {} };
  const next = { ...context, offers: context.offers.filter((o) => o !== offer) };
  const inviter = context.members.find((m) => m.uid === offer.inviterUid);
  const sends: Plan['sends'] = [];
  if (inviter && isActive(inviter.ref)) {
    const closing = isLonely(next);
    sends.push([inviter.ref, { type: 'group.changed', membership: closing ? null : membership(next, self), frames: [result(false, reason), ...(closing ? [NO_GROUP] : [])] }]);
  }
  return { sends, update: { offers: next.offers } };
}

/** remove-client-from-group: the owner removes anyone, a member removes itself (upstream's rule). */
export function remove(context: GroupContext, self: AnyActorRef, by: string, targetUid: string): Plan {
  const remover = context.members.find((m) => m.uid === by);
  if (!remover) return { sends: [], update: {} };
  const fail = (message: string): Plan => ({ sends: [[remover.ref, { type: 'group.deliver', frames: [result(false, message)] }]], update: {} });
  if (!context.members.some((m) => m.uid === targetUid)) return fail(`Target ${targetUid} is not in this group`);
  if (by !== context.ownerUid && by !== targetUid) return fail('Only group owner or self can remove members');
  return leave(context, self, targetUid, by);
}

/** A member leaves (removed, or `by` null: disconnected). The owner's role passes on; a group of one closes. */
export function leave(context: GroupContext, self: AnyActorRef, uid: string, by: string | null): Plan {
  const sends: Plan['sends'] = [];
  const leaving = context.members.find((m) => m.uid === uid)!;
  const members = context.members.filter((m) => m.uid !== uid);
  const ownerUid = uid === context.ownerUid ? (members[0]?.uid ?? context.ownerUid) : context.ownerUid;
  const next = { ...context, members, ownerUid };
  const closing = members.length <= 1 && context.offers.length === 0;
  const what = by === null ? `Member ${uid} disconnected` : `Member ${uid} was removed from the group`;
  if (by !== null && isActive(leaving.ref)) {
    sends.push([leaving.ref, { type: 'group.changed', membership: null, frames: [NO_GROUP, result(true, 'You have been removed from the group')] }]);
  }
  for (const member of members) {
    if (!isActive(member.ref)) continue;
    const notice = by !== null && member.uid === by ? result(true, `Successfully removed ${uid} from the group`) : result(true, what);
    const frames = closing
      ? [NO_GROUP, notice]
      : [groupUpdate(next, member.uid), notice, ...(member.uid === ownerUid && ownerUid !== context.ownerUid ? [result(true, 'You are now the owner of the group')] : [])];
    sends.push([member.ref, { type: 'group.changed', membership: closing ? null : membership(next, self), frames }]);
  }
  if (context.conversation) sends.push(['conversation', { type: 'conv.member-left', uid }]);
  return { sends, update: { members, ownerUid } };
}

/** A member's session ended (or an invitee's, with its offer open). */
export function memberGone(context: GroupContext, self: AnyActorRef, uid: string): Plan {
  if (context.members.some((m) => m.uid === uid)) return leave(context, self, uid, null);
  if (context.offers.some((o) => o.uid === uid)) return { sends: [], update: { offers: context.offers.filter((o) => o.uid !== uid) } };
  return { sends: [], update: {} };
}

/** The next queued input becomes the conversation: its initiator speaks first, then the others in join order. */
export function startNext(context: GroupContext): Partial<GroupContext> {
  const [first, ...rest] = context.queue;
  if (!first) return {};
  const at = Math.max(0, context.members.findIndex((m) => m.uid === first.uid));
  const order = [...context.members.slice(at), ...context.members.slice(0, at)];
  return {
    queue: rest,
    conversation: {
      groupId: context.id,
      initiatorUid: first.uid,
      order,
      names: Object.fromEntries(context.members.map((m) => [m.uid, memberName(m)])),
      input: first.input,
      rounds: context.rules.rounds,
    },
  };
}
