import { assign, enqueueActions, sendTo, type AnyActorRef } from 'xstate';
import { addMessage } from '../src/agent/chat-memory.js';
import type { GroupEvent, GroupRecorded, GroupTrigger, GroupTurnReply } from './group-protocol.js';
import { interruptedMemory } from './interrupt-bookkeeping.js';
import type { GroupCreateRequest, HistoryCommand } from './session-contract.js';
import { historyAppend } from './session-history.js';
import { withRequests } from './session-requests.js';
import { toSocket } from './session-setup.js';
import { groupTurnInput } from './session-turn-input.js';
import type { TurnTrigger } from './turn.machine.js';
import { sessionSystemId } from './system-ids.js';

/**
 * The session's link to its chat group (group.machine.ts): invitations and removals go to the group (or to the
 * server, which creates one), the group's notices and frames come back, and while the client is in a group with
 * somebody else its conversation input, interrupts and playback reports go to the group conversation instead of a
 * turn of its own. A member's character speaks in the group's conversation through `group.turn-request`.
 */
export const withGroupLink = withRequests.extend({
  actions: {
    /** add-client-to-group: to this client's group, or to the server, which creates one owned by this client. */
    inviteToGroup: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'client.add-client-to-group') return;
      const inviteeUid = event.frame.invitee_uid;
      if (context.group) {
        enqueue.sendTo(context.group.ref, { type: 'group.invite', from: context.clientUid, inviteeUid } satisfies GroupEvent);
      } else if (context.groupPending) {
        enqueue.sendTo('socket', toSocket({ type: 'group-operation-result', success: false, message: 'Your group is being set up; please try again in a moment' }));
      } else {
        enqueue.assign({ groupPending: true });
        enqueue.sendParent({
          type: 'group.create',
          owner: { uid: context.clientUid, ref: self },
          inviteeUid,
          rules: context.limits.group,
        } satisfies GroupCreateRequest);
      }
    }),
    /** remove-client-from-group: the group decides; without a group, the answer is upstream's. */
    removeFromGroup: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'client.remove-client-from-group') return;
      const targetUid = event.frame.target_uid;
      if (context.group) {
        enqueue.sendTo(context.group.ref, { type: 'group.remove', by: context.clientUid, targetUid } satisfies GroupEvent);
        return;
      }
      // Read-only look at the target's session, to give upstream's answer for a target that is in no group.
      const target = system.get(sessionSystemId(targetUid)) as AnyActorRef | undefined;
      const targetInGroup = (target?.getSnapshot() as { context?: { group?: unknown } } | undefined)?.context?.group;
      const message = targetInGroup ? 'Only group owner or self can remove members' : `Target ${targetUid} is not in any group`;
      enqueue.sendTo('socket', toSocket({ type: 'group-operation-result', success: false, message }));
    }),
    /** Conversation input of a group member starts (or queues) a group conversation instead of a turn of its own. */
    toGroup: enqueueActions(({ context, enqueue }, trigger: TurnTrigger) => {
      const runtime = context.character!.runtime;
      const input: GroupTrigger = { trigger, humanName: context.character!.config.human_name, asr: runtime.asr, asrUnavailable: runtime.asrUnavailable, deadlines: context.limits.deadlines, memberAnswerMs: context.limits.groupMemberAnswerMs };
      enqueue.sendTo(context.group!.ref, { type: 'group.input', uid: context.clientUid, input } satisfies GroupEvent);
    }),
    /** The group hears of a member's end as an event; it updates the others and closes if one member is left. */
    leaveGroup: enqueueActions(({ context, enqueue }) => {
      if (context.group) enqueue.sendTo(context.group.ref, { type: 'group.member-gone', uid: context.clientUid } satisfies GroupEvent);
    }),
    /** A group's invitation: accepted when the client is in no group and getting none, declined otherwise. */
    answerOffer: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'group.offer') return;
      if (context.group || context.groupPending) {
        enqueue.sendTo(event.ref, { type: 'group.offer-declined', uid: context.clientUid, reason: `Invitee ${context.clientUid} is already in a group` } satisfies GroupEvent);
        return;
      }
      enqueue.assign({ group: { id: event.groupId, ref: event.ref, members: [], ownerUid: event.inviterUid } });
      enqueue.sendTo(event.ref, { type: 'group.offer-accepted', uid: context.clientUid, ref: self } satisfies GroupEvent);
    }),
    /** The group's new membership is kept (no group is pending any more); its notices go to the client. */
    takeMembership: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'group.changed') return;
      enqueue.assign({ group: event.membership, groupPending: false });
      for (const frame of event.frames) enqueue.sendTo('socket', toSocket(frame));
    }),
    /** The group's frames go to the client. */
    deliverGroupFrames: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'group.deliver') return;
      for (const frame of event.frames) enqueue.sendTo('socket', toSocket(frame));
    }),
    /** The group is told this member can take no turn now (no character is active, as during a switch). */
    refuseGroupTurn: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'group.turn-request') return;
      enqueue.sendTo(event.replyTo, { type: 'group.turn-unavailable', reason: 'switching character' });
    }),
    /** This member's character speaks in the group's conversation: its turn's input goes to the group. */
    giveGroupTurn: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'group.turn-request') return;
      enqueue.sendTo(event.replyTo, { type: 'group.turn-input', input: groupTurnInput(context, event, self.getSnapshot().children.toolbox) } satisfies GroupTurnReply);
    }),
    /** The group conversation's messages join this member's memory. */
    rememberGroupLines: assign({ memory: ({ context, event }) => (event.type === 'group.remember' ? event.messages.reduce(addMessage, context.memory) : context.memory) }),
    /** The memory notes that the group conversation was interrupted, with what was heard of it. */
    rememberGroupInterrupt: assign({
      memory: ({ context, event }) => (event.type === 'group.remember-interrupt' ? interruptedMemory(context.memory, event.heard, context.character!.runtime.interruptMethod) : context.memory),
    }),
    /** The group conversation's lines go to this member's history; a group that asked is told once they are written. */
    recordGroupLines: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'group.record') return;
      const command = historyAppend(context, event.messages);
      if (command) enqueue.sendTo('history', { ...command, ...(event.confirmTo ? { confirm: true, confirmTo: event.confirmTo } : {}) } satisfies HistoryCommand);
      else if (event.confirmTo) enqueue.sendTo(event.confirmTo, { type: 'group.recorded', uid: context.clientUid } satisfies GroupRecorded);
    }),
    /** The group conversation that waited for a history write is told it is done. */
    confirmGroupRecorded: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'history.saved' || !event.confirmTo) return;
      enqueue.sendTo(event.confirmTo, { type: 'group.recorded', uid: context.clientUid } satisfies GroupRecorded);
    }),
    /** The client's interrupt goes to the group conversation, with the text it heard. */
    forwardInterruptToGroup: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'client.interrupt-signal') return;
      enqueue.sendTo(context.group!.ref, { type: 'group.interrupt', uid: context.clientUid, heard: event.frame.text ?? '' } satisfies GroupEvent);
    }),
    /** The client's playback report goes to the group conversation. */
    forwardPlaybackToGroup: sendTo(({ context }) => context.group!.ref, ({ context }) => ({ type: 'group.playback-complete', uid: context.clientUid }) satisfies GroupEvent),
    /** The client's play start goes to the group conversation, with the text on display (if any). */
    forwardPlayStartToGroup: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'client.audio-play-start') return;
      const shown = event.frame.display_text;
      const displayText = shown ? { text: shown.text, name: shown.name ?? '', avatar: shown.avatar ?? '' } : null;
      enqueue.sendTo(context.group!.ref, { type: 'group.audio-play-start', uid: context.clientUid, displayText } satisfies GroupEvent);
    }),
  },
  guards: {
    /** In a group with somebody else: conversation input goes to the group. */
    inGroup: ({ context }) => context.group !== null && context.group.members.length > 1,
    /** A history write a group conversation waits for (it asked for a confirmation). */
    groupAwaitsSave: ({ event }) => event.type === 'history.saved' && event.confirmTo !== undefined,
  },
});

/** What the session does with group events and group-related frames, in every state. */
export const groupLinkHandlers = withGroupLink.createStateConfig({
  on: {
    'client.add-client-to-group': { actions: 'inviteToGroup' },
    'client.remove-client-from-group': { actions: 'removeFromGroup' },
    // From the group: an invitation (one group at a time), a new membership and its notices, frames of the group.
    'group.offer': { actions: 'answerOffer' },
    'group.changed': { actions: 'takeMembership' },
    'group.deliver': { actions: 'deliverGroupFrames' },
    // A group turn can only be given while a character is active (not during a switch): see `activeGroupHandlers`.
    'group.turn-request': { actions: 'refuseGroupTurn' },
    'group.remember': { actions: 'rememberGroupLines' },
    'group.remember-interrupt': { guard: 'hasCharacter', actions: 'rememberGroupInterrupt' },
    'group.record': { actions: 'recordGroupLines' },
    // A group conversation's lines are on disk in this member's history.
    'history.saved': { guard: 'groupAwaitsSave', actions: 'confirmGroupRecorded' },
    // With no turn of its own running, a group member's interrupt, playback report and play start are its group
    // conversation's (outside a group an idle interrupt changes nothing: docs/upstream-defects.md, U13).
    'client.interrupt-signal': { guard: 'inGroup', actions: 'forwardInterruptToGroup' },
    'client.frontend-playback-complete': { guard: 'inGroup', actions: 'forwardPlaybackToGroup' },
    'client.audio-play-start': { guard: 'inGroup', actions: 'forwardPlayStartToGroup' },
  },
});

/** While a character is active: this member's character speaks in its group's conversation with its engines and memory. */
export const activeGroupHandlers = withGroupLink.createStateConfig({
  on: {
    'group.turn-request': { actions: 'giveGroupTurn' },
  },
});
