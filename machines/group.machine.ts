import { enqueueActions, sendTo, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { groupConversationMachine, type ConversationInput } from './group-conversation.machine.js';
import type { ConversationTell, GroupEvent, GroupMember, GroupTrigger, Membership, SessionGroupEvent } from './group-protocol.js';
import { sessionSystemId } from './system-ids.js';
import type { CharacterConfig } from '../src/config/conf-schema.js';

/**
 * A chat group, spawned by the server when a client first invites somebody (child `group.<n>`, reached by reference).
 * It owns its membership — members are uids with their session refs, in join order — and, while `conversing`, the group
 * conversation actor. A member's disconnect is an event to it (`group.member-gone`). Rules where upstream had none
 * (docs/upstream-defects.md, U31, U34): only the owner invites; at most `maxMembers` members; the owner leaving hands
 * the group to the member who joined next; a group of one is closed, whether the other left, was removed or
 * disconnected; every broadcast goes to the members as they are when it is delivered, from an immutable list.
 */

export interface GroupInput {
  id: string;
  owner: GroupMember;
  /** The invite that created the group. */
  firstInvitee: string;
  maxMembers: number;
  rounds: number;
}

interface Offer {
  uid: string;
  inviterUid: string;
}

interface GroupContext {
  id: string;
  members: GroupMember[];
  ownerUid: string;
  offers: Offer[];
  /** Inputs that arrived during a conversation; each starts the next one, in order. */
  queue: Array<{ uid: string; input: GroupTrigger }>;
  maxMembers: number;
  rounds: number;
  /** The running conversation's input; null while idle. */
  conversation: ConversationInput | null;
  firstInvitee: string;
}

export type GroupMachineEvent = GroupEvent | ConversationTell;

const result = (success: boolean, message: string): ServerFrame => ({ type: 'group-operation-result', success, message });
const groupUpdate = (context: Pick<GroupContext, 'members' | 'ownerUid'>, uid: string): ServerFrame => ({
  type: 'group-update',
  members: context.members.map((m) => m.uid),
  is_owner: uid === context.ownerUid,
});
const NO_GROUP: ServerFrame = { type: 'group-update', members: [], is_owner: false };

const isActive = (ref: AnyActorRef) => ref.getSnapshot().status === 'active';

/** The character name a member's session shows (read from its snapshot), for the group prompt. */
function memberName(member: GroupMember): string {
  const config = (member.ref.getSnapshot() as { context?: { character?: { config?: CharacterConfig } | null } }).context?.character?.config;
  return config?.character_name ?? member.uid;
}

/** What a helper decided: events to send (to a ref, or to the child `conversation`) and the context change. */
interface Plan {
  sends: Array<[AnyActorRef | 'conversation', SessionGroupEvent | { type: 'conv.member-left'; uid: string }]>;
  update: Partial<GroupContext>;
}

const EMPTY_PLAN = (): Plan => ({ sends: [], update: {} });

export const groupMachine = setup({
  types: {
    context: {} as GroupContext,
    events: {} as GroupMachineEvent,
    input: {} as GroupInput,
  },
  actors: {
    conversation: groupConversationMachine,
  },
  guards: {
    lonely: ({ context }) => context.members.length <= 1 && context.offers.length === 0,
    queued: ({ context }) => context.queue.length > 0,
  },
}).createMachine({
  id: 'group',
  context: ({ input }) => ({
    id: input.id,
    members: [input.owner],
    ownerUid: input.owner.uid,
    offers: [],
    queue: [],
    maxMembers: input.maxMembers,
    rounds: input.rounds,
    conversation: null,
    firstInvitee: input.firstInvitee,
  }),
  entry: enqueueActions(({ context, enqueue, self, system }) => {
    enqueue.sendTo(context.members[0]!.ref, { type: 'group.changed', membership: membership(context, self), frames: [] } satisfies SessionGroupEvent);
    apply(enqueue, invite(context, self, system, context.ownerUid, context.firstInvitee));
  }),
  on: {
    'group.invite': {
      actions: enqueueActions(({ context, event, enqueue, self, system }) => apply(enqueue, invite(context, self, system, event.from, event.inviteeUid))),
    },
    'group.offer-accepted': {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        const offer = context.offers.find((o) => o.uid === event.uid);
        if (!offer) {
          // Too late (the group closed its offer): the session is told it is in no group.
          enqueue.sendTo(event.ref, { type: 'group.changed', membership: null, frames: [NO_GROUP] } satisfies SessionGroupEvent);
          return;
        }
        const next = { ...context, members: [...context.members, { uid: event.uid, ref: event.ref }], offers: context.offers.filter((o) => o !== offer) };
        for (const member of next.members) {
          const frames =
            member.uid === event.uid
              ? [groupUpdate(next, member.uid), result(true, `You have been invited to the group by ${offer.inviterUid}`)]
              : member.uid === offer.inviterUid
                ? [result(true, `Successfully added ${event.uid} to the group`), groupUpdate(next, member.uid)]
                : [groupUpdate(next, member.uid), result(true, `Member ${event.uid} was added to the group`)];
          if (isActive(member.ref)) enqueue.sendTo(member.ref, { type: 'group.changed', membership: membership(next, self), frames } satisfies SessionGroupEvent);
        }
        enqueue.assign({ members: next.members, offers: next.offers });
      }),
    },
    'group.offer-declined': {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        const offer = context.offers.find((o) => o.uid === event.uid);
        if (!offer) return;
        const next = { ...context, offers: context.offers.filter((o) => o !== offer) };
        const inviter = context.members.find((m) => m.uid === offer.inviterUid);
        if (inviter && isActive(inviter.ref)) {
          const closing = next.members.length <= 1 && next.offers.length === 0;
          enqueue.sendTo(inviter.ref, {
            type: 'group.changed',
            membership: closing ? null : membership(next, self),
            frames: [result(false, event.reason), ...(closing ? [NO_GROUP] : [])],
          } satisfies SessionGroupEvent);
        }
        enqueue.assign({ offers: next.offers });
      }),
    },
    'group.remove': {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        const remover = context.members.find((m) => m.uid === event.by);
        if (!remover) return;
        const fail = (message: string) => enqueue.sendTo(remover.ref, { type: 'group.deliver', frames: [result(false, message)] } satisfies SessionGroupEvent);
        if (!context.members.some((m) => m.uid === event.targetUid)) return fail(`Target ${event.targetUid} is not in this group`);
        if (event.by !== context.ownerUid && event.by !== event.targetUid) return fail('Only group owner or self can remove members');
        apply(enqueue, leave(context, self, event.targetUid, event.by));
      }),
    },
    'group.member-gone': {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        if (context.members.some((m) => m.uid === event.uid)) apply(enqueue, leave(context, self, event.uid, null));
        else if (context.offers.some((o) => o.uid === event.uid)) enqueue.assign({ offers: context.offers.filter((o) => o.uid !== event.uid) });
      }),
    },
    // What the speaker's client starts playing is shown, silently, by everybody else (docs/protocol.md, 'Groups').
    'group.audio-play-start': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const frame: ServerFrame = { type: 'audio', audio: null, volumes: [], slice_length: 20, display_text: event.displayText, actions: null, forwarded: true };
        for (const member of context.members) {
          if (member.uid !== event.uid && isActive(member.ref)) enqueue.sendTo(member.ref, { type: 'group.deliver', frames: [frame] } satisfies SessionGroupEvent);
        }
      }),
    },
    'conv.tell': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        for (const member of context.members) {
          if ((event.to === 'all' || event.to === member.uid) && member.uid !== event.except && isActive(member.ref)) enqueue.sendTo(member.ref, event.event);
        }
      }),
    },
  },
  initial: 'idle',
  states: {
    idle: {
      always: [
        { guard: 'lonely', target: 'closed' },
        { guard: 'queued', target: 'conversing', actions: enqueueActions(({ context, enqueue }) => enqueue.assign(startNext(context))) },
      ],
      on: {
        'group.input': {
          guard: ({ context }) => context.members.length > 1,
          target: 'conversing',
          actions: enqueueActions(({ context, event, enqueue }) => enqueue.assign(startNext({ ...context, queue: [{ uid: event.uid, input: event.input }] }))),
        },
      },
    },
    conversing: {
      always: { guard: 'lonely', target: 'closed' },
      invoke: {
        id: 'conversation',
        src: 'conversation',
        input: ({ context }) => context.conversation!,
        onDone: { target: 'idle', actions: enqueueActions(({ enqueue }) => enqueue.assign({ conversation: null })) },
        onError: { target: 'idle', actions: enqueueActions(({ enqueue }) => enqueue.assign({ conversation: null })) },
      },
      on: {
        // New input during a conversation is not dropped (docs/upstream-defects.md, U30): it starts the next one.
        'group.input': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.assign({ queue: [...context.queue, { uid: event.uid, input: event.input }] })) },
        'group.interrupt': { actions: sendTo('conversation', ({ event }) => event) },
        'group.playback-complete': { actions: sendTo('conversation', ({ event }) => ({ type: 'conv.playback-complete', uid: event.uid })) },
      },
    },
    closed: { type: 'final' },
  },
});

function membership(context: Pick<GroupContext, 'id' | 'members' | 'ownerUid'>, self: AnyActorRef): Membership {
  return { id: context.id, ref: self, members: context.members.map((m) => m.uid), ownerUid: context.ownerUid };
}

/** The next queued input becomes the conversation: its initiator speaks first, then the others in join order. */
function startNext(context: GroupContext): Partial<GroupContext> {
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
      rounds: context.rounds,
    },
  };
}

/** Sends a helper's events (never to a conversation that is not running) and applies its context change. */
function apply(
  enqueue: { sendTo(to: AnyActorRef | string, event: EventObject): void; assign(update: Partial<GroupContext>): void },
  plan: Plan,
) {
  for (const [to, event] of plan.sends) enqueue.sendTo(to, event);
  enqueue.assign(plan.update);
}

function invite(
  context: GroupContext,
  self: AnyActorRef,
  system: { get(id: string): AnyActorRef | undefined },
  from: string,
  inviteeUid: string,
): Plan {
  const plan = EMPTY_PLAN();
  const inviter = context.members.find((m) => m.uid === from);
  if (!inviter) return plan;
  const closing = context.members.length <= 1 && context.offers.length === 0;
  const fail = (message: string): Plan => {
    const event: SessionGroupEvent = {
      type: 'group.changed',
      membership: closing ? null : membership(context, self),
      frames: [result(false, message), ...(closing ? [NO_GROUP] : [])],
    };
    return { sends: [[inviter.ref, event]], update: {} };
  };
  if (from !== context.ownerUid) return fail('Only the group owner can invite members');
  if (inviteeUid === from) return fail('You cannot invite yourself');
  if (context.members.some((m) => m.uid === inviteeUid) || context.offers.some((o) => o.uid === inviteeUid)) {
    return fail(`Invitee ${inviteeUid} is already in a group`);
  }
  const invitee = system.get(sessionSystemId(inviteeUid));
  if (!invitee || !isActive(invitee)) return fail(`Invitee ${inviteeUid} does not exist`);
  if (context.members.length + context.offers.length >= context.maxMembers) return fail(`The group is full (at most ${context.maxMembers} members)`);
  const offer: SessionGroupEvent = { type: 'group.offer', groupId: context.id, ref: self, inviterUid: from };
  return { sends: [[invitee, offer]], update: { offers: [...context.offers, { uid: inviteeUid, inviterUid: from }] } };
}

/** A member leaves (removed, or `by` null: disconnected). The owner's role passes on; a group of one closes. */
function leave(context: GroupContext, self: AnyActorRef, uid: string, by: string | null): Plan {
  const sends: Plan['sends'] = [];
  const leaving = context.members.find((m) => m.uid === uid)!;
  const members = context.members.filter((m) => m.uid !== uid);
  const ownerUid = uid === context.ownerUid ? (members[0]?.uid ?? context.ownerUid) : context.ownerUid;
  const next = { ...context, members, ownerUid };
  const closing = members.length <= 1 && context.offers.length === 0;
  const what = by === null ? `Member ${uid} disconnected` : `Member ${uid} was removed from the group`;
  if (by !== null && isActive(leaving.ref)) {
    sends.push([leaving.ref, { type: 'group.changed', membership: null, frames: [NO_GROUP, result(true, 'You have been removed from the group')] } satisfies SessionGroupEvent]);
  }
  for (const member of members) {
    if (!isActive(member.ref)) continue;
    const notice = by !== null && member.uid === by ? result(true, `Successfully removed ${uid} from the group`) : result(true, what);
    const frames = closing
      ? [NO_GROUP, notice]
      : [groupUpdate(next, member.uid), notice, ...(member.uid === ownerUid && ownerUid !== context.ownerUid ? [result(true, 'You are now the owner of the group')] : [])];
    sends.push([member.ref, { type: 'group.changed', membership: closing ? null : membership(next, self), frames } satisfies SessionGroupEvent]);
  }
  if (context.conversation) sends.push(['conversation', { type: 'conv.member-left', uid }]);
  return { sends, update: { members, ownerUid } };
}
