import { enqueueActions, fromCallback, sendTo, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { GroupEvent, SessionGroupEvent } from './group-protocol.js';
import { NO_GROUP } from './group-membership.js';
import { sessionSystemId } from './system-ids.js';
import type { TurnInput, TurnOutputEvent } from './turn-contract.js';
import { turnMachine } from './turn.machine.js';
import { transcriptionMachine, type TranscriptionOutput } from './transcription.machine.js';
import { DEFAULT_ENGINE_DEADLINES } from './engine-deadlines.js';
import type { GroupTrigger } from './group-protocol.js';

/**
 * A session's link to a chat group that runs on another instance (docs/cluster.md): a server child, started when
 * that group offers this session membership, and taken by the session for its group (it is the `ref` of its
 * membership). What the session sends its group goes over the wire; what the group sends comes back as the group's
 * events. When the group asks this member to speak, its turn runs here, with the session's own engines and tools,
 * and the turn's events go over the wire to the group's conversation; its frames reach this member's client from
 * here, in order (the group hands them to the other members). The session's voice input is transcribed here
 * too, with its own recognizer, and goes to the group as text (the session gets its transcription as it would).
 *
 *   offering → member (idle ⇄ speaking) → ended
 *
 * The link ends when the offer is declined, the member leaves or is let go, the group goes, or the group's instance
 * says nothing for a while (the `wire` reports `wire.silent`): then the session is told it is in no group.
 */

export interface GroupLinkInput {
  groupId: string;
  /** The instance the group runs on. */
  owner: string;
  /** The member's client uid. */
  uid: string;
  inviterUid: string;
}

/** What the link tells its wire: one message to the group's side, of this kind, with these fields. */
export type WireCommand = { type: 'wire.send'; kind: string; fields?: Record<string, unknown> } | { type: 'wire.heard' };

export const groupLinkSystemId = (groupId: string, uid: string) => `groupLink:${groupId}:${uid}`;

type Mail = { kind: string; [field: string]: unknown };
type LinkEvent =
  | { type: 'group.mail'; mail: Mail }
  | { type: 'wire.silent' }
  | GroupEvent
  | { type: 'group.turn-input'; input: TurnInput }
  | { type: 'group.turn-unavailable'; reason: string }
  | { type: 'group.recorded'; uid: string }
  | TurnOutputEvent
  | { type: 'xstate.done.actor.transcription'; output: TranscriptionOutput };

/** To the member's session (found by its uid; gone, nothing is sent). */
function toSession(enqueue: { sendTo(to: AnyActorRef, event: EventObject): void }, system: { get(id: string): AnyActorRef | undefined }, context: { uid: string }, event: SessionGroupEvent) {
  const session = system.get(sessionSystemId(context.uid));
  if (session) enqueue.sendTo(session, event);
}

const mailOf = (event: LinkEvent): Mail | null => (event.type === 'group.mail' ? event.mail : null);
const wire = (kind: string, fields: Record<string, unknown> = {}): WireCommand => ({ type: 'wire.send', kind, fields });

export const groupLinkMachine = setup({
  types: { context: {} as GroupLinkInput & { voice: GroupTrigger | null }, events: {} as LinkEvent, input: {} as GroupLinkInput },
  actors: {
    /** Publishes to the group's instance, pings it, reports its silence (src/cluster/group-wire.ts). */
    wire: fromCallback<WireCommand, GroupLinkInput>(() => {
      throw new Error('actor "wire" must be provided with machine.provide()');
    }),
    turn: turnMachine,
    transcription: transcriptionMachine,
  },
  guards: {
    mailIs: ({ event }: { event: LinkEvent }, kind: string) => mailOf(event)?.kind === kind,
    isVoice: ({ event }: { event: LinkEvent }) => event.type === 'group.input' && event.input.trigger.kind === 'audio',
    leftGroup: ({ event }: { event: LinkEvent }) => {
      const mail = mailOf(event);
      return mail?.kind === 'changed' && mail.membership === null;
    },
  },
  actions: {
    offer: enqueueActions(({ context, self, system, enqueue }) => {
      toSession(enqueue, system, context, { type: 'group.offer', groupId: context.groupId, ref: self, inviterUid: context.inviterUid });
    }),
    /** The session took the offer: its character's name goes with the answer (the group's prompt names the speakers). */
    accepted: enqueueActions(({ context, system, enqueue }) => {
      const session = system.get(sessionSystemId(context.uid)) as AnyActorRef | undefined;
      const name = (session?.getSnapshot() as { context?: { character?: { config?: { character_name?: string } } | null } } | undefined)?.context?.character?.config?.character_name;
      enqueue.sendTo('wire', wire('accepted', name ? { name } : {}));
    }),
    /** A message from the group, as the group's own event to the session (this link stands for the group). */
    fromGroup: enqueueActions(({ context, event, self, system, enqueue }) => {
      const mail = mailOf(event);
      if (!mail) return;
      const carried = (mail.event ?? {}) as Record<string, unknown>;
      switch (mail.kind) {
        case 'changed': {
          const m = mail.membership as { id: string; members: string[]; ownerUid: string } | null;
          toSession(enqueue, system, context, { type: 'group.changed', membership: m ? { ...m, ref: self } : null, frames: mail.frames as ServerFrame[] });
          return;
        }
        case 'turn-request':
          toSession(enqueue, system, context, { ...(mail.request as object), type: 'group.turn-request', replyTo: self } as SessionGroupEvent);
          return;
        case 'record':
          toSession(enqueue, system, context, { type: 'group.record', messages: mail.messages as never, ...(mail.confirm ? { confirmTo: self } : {}) });
          return;
        case 'deliver':
        case 'remember':
        case 'remember-interrupt':
          toSession(enqueue, system, context, carried as SessionGroupEvent);
          return;
      }
    }),
    /** What the session sends its group goes to the group's instance (a voice trigger's engine stays here). */
    toGroup: enqueueActions(({ event, enqueue }) => {
      const { asr: _asr, asrUnavailable: _u, ...input } = ((event as { input?: Record<string, unknown> }).input ?? {}) as Record<string, unknown>;
      enqueue.sendTo('wire', wire('event', { event: event.type === 'group.input' ? { ...event, input } : event }));
    }),
    /** The voice input, transcribed here: the session gets what was understood, the group the text (or nothing). */
    transcribe: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'group.input') return;
      const { input } = event;
      if (self.getSnapshot().children.transcription) enqueue.stopChild('transcription');
      enqueue.assign({ voice: input });
      enqueue.spawnChild('transcription', {
        id: 'transcription',
        input: {
          engine: input.asr,
          unavailable: input.asrUnavailable,
          samples: input.trigger.kind === 'audio' ? input.trigger.samples : new Float32Array(),
          clientUid: context.uid,
          deadlineMs: (input.deadlines ?? DEFAULT_ENGINE_DEADLINES).transcriptionMs,
        },
      });
    }),
    transcribed: enqueueActions(({ context, system, enqueue }, output: TranscriptionOutput) => {
      const input = context.voice!;
      enqueue.assign({ voice: null });
      const frame: ServerFrame = output.error ?? { type: 'user-input-transcription', text: output.text };
      toSession(enqueue, system, context, { type: 'group.deliver', frames: [frame] });
      if (output.error || !output.text.trim()) return;
      const { asr: _asr, asrUnavailable: _u, ...rest } = input;
      const text: Omit<GroupTrigger, 'asr' | 'asrUnavailable'> = { ...rest, trigger: { kind: 'text', text: output.text, images: input.trigger.images } };
      enqueue.sendTo('wire', wire('event', { event: { type: 'group.input', uid: context.uid, input: text } }));
    }),
    turnStarted: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'group.turn-input') enqueue.sendTo('wire', wire('turn-started', { speaker: { name: event.input.speaker.name, avatar: event.input.speaker.avatar } }));
    }),
    turnEvent: sendTo('wire', ({ event }) => wire('turn-event', { event })),
    /** The turn's frames reach this member's client from here, in the turn's order (the group sends them to the others). */
    ownFrame: enqueueActions(({ context, event, system, enqueue }) => {
      if (event.type === 'turn.frame') toSession(enqueue, system, context, { type: 'group.deliver', frames: [event.frame] });
    }),
    turnEnded: sendTo('wire', (_, error: string | null) => wire('turn-ended', { error })),
    turnUnavailable: sendTo('wire', ({ event }) => wire('turn-unavailable', { reason: (event as { reason?: string }).reason ?? '' })),
    recorded: sendTo('wire', () => wire('recorded')),
    declined: sendTo('wire', ({ event }) => wire('declined', { reason: (event as { reason?: string }).reason ?? '' })),
    heard: sendTo('wire', { type: 'wire.heard' }),
    toTurn: sendTo('turn', ({ event }) => (mailOf(event)?.event ?? { type: 'noop' }) as EventObject),
    noGroup: enqueueActions(({ context, system, enqueue }) => toSession(enqueue, system, context, { type: 'group.changed', membership: null, frames: [NO_GROUP] })),
  },
}).createMachine({
  id: 'groupLink',
  context: ({ input }) => ({ ...input, voice: null }),
  invoke: { id: 'wire', src: 'wire', input: ({ context }) => context },
  initial: 'offering',
  on: {
    // The group's instance went quiet: this member is in no group any more.
    'wire.silent': { target: '.ended', actions: 'noGroup' },
  },
  states: {
    offering: {
      entry: 'offer',
      on: {
        'group.offer-accepted': { target: 'member', actions: 'accepted' },
        'group.offer-declined': { target: 'ended', actions: 'declined' },
        'group.mail': [
          { guard: { type: 'mailIs', params: 'ping-down' }, actions: 'heard' },
          { guard: { type: 'mailIs', params: 'gone' }, target: 'ended', actions: 'noGroup' },
        ],
      },
    },
    member: {
      on: {
        'group.mail': [
          { guard: { type: 'mailIs', params: 'ping-down' }, actions: 'heard' },
          { guard: { type: 'mailIs', params: 'gone' }, target: 'ended', actions: 'noGroup' },
          { guard: 'leftGroup', target: 'ended', actions: 'fromGroup' },
          { guard: { type: 'mailIs', params: 'turn-stop' }, target: '.idle' },
          { guard: { type: 'mailIs', params: 'to-turn' }, actions: 'toTurn' },
          { actions: 'fromGroup' },
        ],
        'group.member-gone': { target: 'ended', actions: 'toGroup' },
        // Voice is transcribed beside a turn that may be running here (the group queues the input, as in one process).
        'group.input': [{ guard: 'isVoice', actions: 'transcribe' }, { actions: 'toGroup' }],
        'xstate.done.actor.transcription': { actions: { type: 'transcribed', params: ({ event }) => event.output } },
        'group.interrupt': { actions: 'toGroup' },
        'group.playback-complete': { actions: 'toGroup' },
        'group.audio-play-start': { actions: 'toGroup' },
        'group.invite': { actions: 'toGroup' },
        'group.remove': { actions: 'toGroup' },
        'group.recorded': { actions: 'recorded' },
        'group.turn-unavailable': { actions: 'turnUnavailable' },
        'group.turn-input': { target: '.speaking', actions: 'turnStarted' },
      },
      initial: 'idle',
      states: {
        idle: {},
        speaking: {
          invoke: {
            id: 'turn',
            src: 'turn',
            input: ({ event }) => (event as { input: TurnInput }).input,
            onDone: { target: 'idle', actions: { type: 'turnEnded', params: null } },
            onError: { target: 'idle', actions: { type: 'turnEnded', params: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)) } },
          },
          on: {
            'turn.frame': { actions: ['ownFrame', 'turnEvent'] },
            'turn.finished': { actions: 'turnEvent' },
            'turn.user-message': { actions: 'turnEvent' },
          },
        },
      },
    },
    ended: { type: 'final' },
  },
});
