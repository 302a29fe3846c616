import { assign, enqueueActions, fromCallback, sendTo, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { groupConversationMachine } from './group-conversation.machine.js';
import type { ConversationTell, GroupEvent, GroupMember, GroupRules, RemoteMemberInput, SessionGroupEvent } from './group-protocol.js';
import {
  acceptOffer,
  declineOffer,
  invite,
  isActive,
  isLonely,
  memberGone,
  membership,
  remove,
  startNext,
  type GroupContext,
  type Plan,
} from './group-membership.js';

/**
 * A chat group, spawned by the server when a client first invites somebody (child `group.<n>`, reached by reference).
 * It owns its membership — members are uids with their session refs, in join order — and, while `conversing`, the group
 * conversation actor. A member's disconnect is an event to it (`group.member-gone`). The rules (group-membership.ts)
 * are upstream's where a user relies on them — any member invites unless `group_invite` is `owner`; a conversation
 * runs `group_conversation_rounds` rounds, 0 meaning until someone interrupts — with bounds upstream lacked
 * (docs/upstream-defects.md, U31, U34): at most `group_max_members` members; the owner leaving hands the group to the
 * member who joined next; a group of one is closed, whether the other left, was removed or disconnected; every
 * broadcast goes to the members as they are when it is delivered, from an immutable list. Input during a conversation
 * is kept and starts the next one; an endless conversation is wound up after the current speaker for it.
 */

export interface GroupInput {
  id: string;
  owner: GroupMember;
  /** The invite that created the group. */
  firstInvitee: string;
  rules: GroupRules;
  /** With system_config.cluster: the group keeps its record in Redis (`record`, src/cluster/group-record.ts). */
  shared?: boolean;
}

/** What the group's record is told: who owns the group and who is in it, after each change. */
export type GroupRecordEvent = { type: 'record.members'; ownerUid: string; members: string[] };

export type GroupMachineEvent = GroupEvent | ConversationTell;

type Enqueue = {
  sendTo(to: AnyActorRef | string, event: EventObject): void;
  assign(update: Partial<GroupContext>): void;
  spawnChild(src: 'remoteMember', options: { id: string; systemId: string; input: RemoteMemberInput }): void;
};

/** Child ids of members connected to another instance: `remote.<uid>`. */
const REMOTE = 'remote.';
/** How a remote member is found by the Redis mail (src/cluster/group-mail.ts). */
export const remoteMemberSystemId = (groupId: string, uid: string) => `groupMember:${groupId}:${uid}`;

/** Carries out a rule's plan: its events (never to a conversation that is not running), then its context change. */
function apply(enqueue: Enqueue, plan: Plan) {
  for (const [to, event] of plan.sends) enqueue.sendTo(to, event);
  enqueue.assign(plan.update);
  if (plan.remote) enqueue.spawnChild('remoteMember', { id: `${REMOTE}${plan.remote.uid}`, systemId: remoteMemberSystemId(plan.remote.groupId, plan.remote.uid), input: plan.remote });
}

const PLAYING_ELSEWHERE = (displayText: Extract<ServerFrame, { type: 'audio' }>['display_text']): ServerFrame => ({
  type: 'audio',
  audio: null,
  volumes: [],
  slice_length: 20,
  display_text: displayText,
  actions: null,
  forwarded: true,
});

export const groupMachine = setup({
  types: {
    context: {} as GroupContext,
    events: {} as GroupMachineEvent,
    input: {} as GroupInput,
  },
  actors: {
    conversation: groupConversationMachine,
    /** A member connected to another instance (src/cluster/remote-member.ts); only spawned with a cluster. */
    remoteMember: fromCallback<EventObject, RemoteMemberInput>(() => {
      throw new Error('actor "remoteMember" must be provided with machine.provide()');
    }),
    /** The group's record and lease in Redis (src/cluster/group-record.ts); only spawned with a cluster. */
    record: fromCallback<GroupRecordEvent, { groupId: string }>(() => {
      throw new Error('actor "record" must be provided with machine.provide()');
    }),
  },
  actions: {
    /**
     * With a cluster, the group's record in Redis: started with the first change of a group that stays open, it lives
     * as long as the group (a child, stopped with it).
     */
    startRecord: enqueueActions(({ context, enqueue }) => {
      if (!context.shared || context.recording || isLonely(context)) return;
      enqueue.spawnChild('record', { id: 'record', input: { groupId: context.id } });
      enqueue.assign({ recording: true });
    }),
    /** The record learns each change of owner or members (a group down to one closes, and its record goes). */
    recordMembers: enqueueActions(({ context, enqueue }) => {
      if (!context.recording || isLonely(context)) return;
      enqueue.sendTo('record', { type: 'record.members', ownerUid: context.ownerUid, members: context.members.map((m) => m.uid) } satisfies GroupRecordEvent);
    }),
    /** The owner learns its membership, and the first invitation goes out. */
    greetOwner: enqueueActions(({ context, enqueue, self, system }) => {
      enqueue.sendTo(context.members[0]!.ref, { type: 'group.changed', membership: membership(context, self), frames: [] } satisfies SessionGroupEvent);
      apply(enqueue, invite(context, self, system, context.ownerUid, context.firstInvitee));
    }),
    invite: enqueueActions(({ context, event, enqueue, self, system }) => {
      if (event.type === 'group.invite') apply(enqueue, invite(context, self, system, event.from, event.inviteeUid));
    }),
    acceptOffer: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type === 'group.offer-accepted') apply(enqueue, acceptOffer(context, self, event.uid, event.ref, event.name));
    }),
    declineOffer: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type === 'group.offer-declined') apply(enqueue, declineOffer(context, self, event.uid, event.reason));
    }),
    remove: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type === 'group.remove') apply(enqueue, remove(context, self, event.by, event.targetUid));
    }),
    memberGone: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type === 'group.member-gone') apply(enqueue, memberGone(context, self, event.uid));
    }),
    /** What the speaker's client starts playing is shown, silently, by everybody else (docs/protocol.md, 'Groups'). */
    showPlayingElsewhere: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'group.audio-play-start') return;
      const deliver: SessionGroupEvent = { type: 'group.deliver', frames: [PLAYING_ELSEWHERE(event.displayText)] };
      for (const member of context.members) {
        if (member.uid !== event.uid && isActive(member.ref)) enqueue.sendTo(member.ref, deliver);
      }
    }),
    /** The conversation's events, to the members as they are now. */
    tellMembers: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'conv.tell') return;
      for (const member of context.members) {
        if ((event.to === 'all' || event.to === member.uid) && member.uid !== event.except && isActive(member.ref)) enqueue.sendTo(member.ref, event.event);
      }
    }),
    startQueued: assign(({ context }) => startNext(context)),
    startInput: assign(({ context, event }) => (event.type === 'group.input' ? startNext({ ...context, queue: [{ uid: event.uid, input: event.input }] }) : {})),
    queueInput: assign({ queue: ({ context, event }) => (event.type === 'group.input' ? [...context.queue, { uid: event.uid, input: event.input }] : context.queue) }),
    /** An endless conversation ends after its current speaker, so that the input waiting is answered. */
    windUp: sendTo('conversation', { type: 'conv.wind-up' }),
    forwardInterrupt: sendTo('conversation', ({ event }) => event),
    forwardPlayback: sendTo('conversation', ({ event }) => ({ type: 'conv.playback-complete', uid: event.type === 'group.playback-complete' ? event.uid : '' })),
    conversationOver: assign({ conversation: null }),
    /** A remote member that is neither a member nor invited any more is let go (it tells its instance). */
    dropRemotes: enqueueActions(({ context, enqueue, self }) => {
      for (const id of Object.keys(self.getSnapshot().children)) {
        if (!id.startsWith(REMOTE)) continue;
        const uid = id.slice(REMOTE.length);
        if (!context.members.some((m) => m.uid === uid) && !context.offers.some((o) => o.uid === uid)) enqueue.stopChild(id);
      }
    }),
  },
  guards: {
    lonely: ({ context }) => isLonely(context),
    queued: ({ context }) => context.queue.length > 0,
    hasCompany: ({ context }) => context.members.length > 1,
    endless: ({ context }) => context.rules.rounds === 0,
  },
}).createMachine({
  id: 'group',
  context: ({ input }) => ({
    id: input.id,
    members: [input.owner],
    ownerUid: input.owner.uid,
    offers: [],
    queue: [],
    rules: input.rules,
    conversation: null,
    firstInvitee: input.firstInvitee,
    shared: input.shared ?? false,
    recording: false,
  }),
  entry: ['greetOwner', 'startRecord', 'recordMembers'],
  on: {
    'group.invite': { actions: 'invite' },
    'group.offer-accepted': { actions: ['acceptOffer', 'startRecord', 'recordMembers'] },
    'group.offer-declined': { actions: ['declineOffer', 'dropRemotes'] },
    'group.remove': { actions: ['remove', 'dropRemotes', 'recordMembers'] },
    'group.member-gone': { actions: ['memberGone', 'dropRemotes', 'recordMembers'] },
    'group.audio-play-start': { actions: 'showPlayingElsewhere' },
    'conv.tell': { actions: 'tellMembers' },
  },
  initial: 'idle',
  states: {
    idle: {
      always: [
        { guard: 'lonely', target: 'closed' },
        { guard: 'queued', target: 'conversing', actions: 'startQueued' },
      ],
      on: {
        'group.input': { guard: 'hasCompany', target: 'conversing', actions: 'startInput' },
      },
    },
    conversing: {
      always: { guard: 'lonely', target: 'closed' },
      invoke: {
        id: 'conversation',
        src: 'conversation',
        input: ({ context }) => context.conversation!,
        onDone: { target: 'idle', actions: 'conversationOver' },
        onError: { target: 'idle', actions: 'conversationOver' },
      },
      on: {
        // New input during a conversation is not dropped (docs/upstream-defects.md, U30): it starts the next one.
        'group.input': [
          { guard: 'endless', actions: ['queueInput', 'windUp'] },
          { actions: 'queueInput' },
        ],
        'group.interrupt': { actions: 'forwardInterrupt' },
        'group.playback-complete': { actions: 'forwardPlayback' },
      },
    },
    closed: { type: 'final' },
  },
});
