import { assign, enqueueActions, fromCallback, fromPromise, or, sendTo, setup, stateIn, type ActorRefFrom, type AnyActorRef, type EventObject } from 'xstate';
import { addMessage, INTERRUPT_MARKER, rememberInterrupt, verifiedHeardText, type ChatMessage, type SentText } from '../src/agent/chat-memory.js';
import type { SessionCharacter } from './session-character.js';
import { joinDisplayTexts } from '../src/agent/display-texts.js';
import { formatLocalTimestamp, type HistoryMessage } from '../src/history/history-format.js';
import type { ClientFrame, ClientFrameType } from '../src/protocol/client-frames.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { SessionSocket } from './socket-contract.js';
import type { GroupEvent, GroupRecorded, GroupTrigger, GroupTurnReply, GroupTurnRequest, Membership, SessionGroupEvent } from './group-protocol.js';
import { requestQueueMachine, type RequestQueueOutputEvent, type RequestResult, type SessionRequest } from './request-queue.machine.js';
import { toolboxMachine } from './toolbox.machine.js';
import { turnMachine, type TurnInput, type TurnOutput, type TurnOutputEvent, type TurnTrigger } from './turn.machine.js';
import type { EngineDeadlines } from './engine-deadlines.js';
import type { Clock } from './clock.js';

/**
 * One actor per connected client (`/client-ws`). Everything the client causes to run is a child of this actor,
 * invoked in the state where it may live; reaching `disconnected` (final) stops all of it.
 *
 *   initializing → active (idle ⇄ responding) ⇄ switchingConfig → disconnected
 *
 * The socket itself is a root-level child (`socket`): it lives exactly as long as the session. The conversation
 * turn is invoked in `active.responding`, so an interrupt, a new input, a switch or a disconnect stops it and
 * everything under it. The agent memory is this session's own (D1).
 */

/** A validated inbound frame, as the event `client.<frame type>`. */
export type ClientEvent = {
  [K in ClientFrameType]: { type: `client.${K}`; frame: Extract<ClientFrame, { type: K }> };
}[ClientFrameType];

export type SessionEvent =
  | ClientEvent
  | TurnOutputEvent
  | { type: 'client.invalid'; message: string }
  | { type: 'socket.closed'; code: number; reason: string }
  | { type: 'server.shutdown' }
  | { type: 'history.failed'; message: string }
  | HistorySaved
  | SessionGroupEvent
  | RequestQueueOutputEvent;

/** Appends to a history file (the `history` child). */
export interface HistoryCommand {
  type: 'history.append';
  confUid: string;
  historyUid: string;
  messages: HistoryMessage[];
  /** Answer `history.saved` once the messages are on disk (or could not be written): the turn waits for it. */
  confirm?: boolean;
  /** A group conversation waits for it instead (the session relays `group.recorded` to it). */
  confirmTo?: AnyActorRef;
}

/** The history writer's answer to a command with `confirm`. */
export type HistorySaved = { type: 'history.saved'; ok: boolean; confirmTo?: AnyActorRef };

/** Events the session sends to its socket bridge. */
export type SocketCommand = { type: 'socket.send'; frame: ServerFrame } | { type: 'socket.resume' };

export interface SessionInput {
  clientUid: string;
  socket: SessionSocket;
}

/** Per-session bounds, from system_config. */
export interface SessionLimits {
  ttsConcurrency: number;
  playbackSlackMs: number;
  /** Samples of 16 kHz mic audio buffered for one utterance at most. */
  micMaxSamples: number;
  /** Largest group a member of this session may grow (the group's creator's limit applies). */
  groupMaxMembers: number;
  /** Rounds of a group conversation: each member's character speaks once per round. */
  groupRounds: number;
  /** Rounds of tool calls in one reply. */
  mcpMaxSteps: number;
  /** Bound on starting an MCP server (process, handshake, tool list). */
  mcpStartTimeoutMs: number;
  /** Bound on one MCP tool call. */
  mcpCallTimeoutMs: number;
  /** Requests waiting for their answer at most (a client that floods requests gets errors beyond it). */
  maxPendingRequests: number;
  /** The longest a turn's chain-end waits for its reply to be on disk. */
  historyWriteDeadlineMs: number;
  /** Bounds on each engine wait of a turn (default: DEFAULT_ENGINE_DEADLINES). */
  deadlines?: EngineDeadlines;
}

export interface SessionSetup {
  character: SessionCharacter;
  limits: SessionLimits;
  /** What history entries and the turns' frames are stamped with. */
  clock: Clock;
}

export interface SessionContext {
  clientUid: string;
  socket: SessionSocket;
  /** The active character and its engines; null only while initializing. */
  character: SessionCharacter | null;
  limits: SessionLimits;
  /** From initSession; null only while initializing. */
  clock: Clock | null;
  /** This session's agent memory (never shared between sessions). */
  memory: ChatMessage[];
  /** Mic audio of the utterance in progress (`mic-audio-data` chunks). */
  mic: { chunks: number[][]; samples: number };
  /** The input of the turn about to start (or running). */
  trigger: TurnTrigger | null;
  /** The history file turns are written to (`chat_history/<conf_uid>/<historyUid>.json`); null: not recorded. */
  historyUid: string | null;
  /** The audio frames' texts the running turn has sent, shown and as said (to check an interrupt's heard text, D23). */
  turnSpoken: SentText[];
  turns: number;
  /** The file of the switch in progress. */
  pendingFile: string | null;
  switches: number;
  /** How the model gets its tools: natively, or in the prompt once it refused them (reset by a switch). */
  toolMode: 'native' | 'prompt';
  /** The chat group this client is in, as its group actor last said; null: none. */
  group: Membership | null;
  /** A group is being created for this client (its first invite is on the way). */
  groupPending: boolean;
}

/** Sent to the server: create a group owned by this client, with its first invite. */
export interface GroupCreateRequest {
  type: 'group.create';
  owner: { uid: string; ref: AnyActorRef };
  inviteeUid: string;
  maxMembers: number;
  rounds: number;
}

export interface SocketBridgeInput {
  socket: SessionSocket;
  clientUid: string;
}

/** Frames of later work: answered with a clear error until their issue lands. */
const NOT_YET: ReadonlySet<string> = new Set(['client.raw-audio-data']);

/** Conversation input that cannot start a turn while a character switch is in progress. */
const TURN_TRIGGERS: ReadonlySet<string> = new Set(['client.text-input', 'client.mic-audio-end', 'client.ai-speak-signal']);

export function modelAndConf(character: SessionCharacter, clientUid: string): ServerFrame {
  return {
    type: 'set-model-and-conf',
    model_info: character.modelInfo,
    conf_name: character.config.conf_name,
    conf_uid: character.config.conf_uid,
    client_uid: clientUid,
  };
}

/** The upstream connect sequence, in its exact order (PROTOCOL §2.1). */
export function connectSequence(modelAndConfFrame: ServerFrame): ServerFrame[] {
  return [
    { type: 'group-update', members: [], is_owner: false },
    { type: 'full-text', text: 'Connection established' },
    modelAndConfFrame,
    { type: 'group-update', members: [], is_owner: false },
    { type: 'control', text: 'start-mic' },
  ];
}

const notProvided = (name: string) => () => {
  throw new Error(`actor "${name}" must be provided with machine.provide()`);
};

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
  },
  actors: {
    /** Owns the WebSocket: inbound frames become `client.*` events, `socket.send` writes a frame. */
    socketBridge: fromCallback<SocketCommand, SocketBridgeInput, EventObject>(notProvided('socketBridge')),
    /** Builds the per-session context from the shared configuration. */
    initSession: fromPromise<SessionSetup, { clientUid: string }>(notProvided('initSession')),
    /** The heavy part of switch-config: validate, merge over the base config, build engines. */
    loadCharacter: fromPromise<SessionCharacter, { file: string; clientUid: string }>(notProvided('loadCharacter')),
    /** One conversation turn. */
    turn: turnMachine,
    /** The character's MCP tool servers (none started until a turn needs them). */
    toolbox: toolboxMachine,
    /** The client's requests, answered in arrival order; invoked in each state where requests are valid. */
    requestQueue: requestQueueMachine,
    /** Writes turns to the current history; reports `history.failed`. */
    historyWriter: fromCallback<HistoryCommand, { clientUid: string }, EventObject>(notProvided('historyWriter')),
  },
  actions: {
    send: sendTo('socket', (_, frame: ServerFrame): SocketCommand => ({ type: 'socket.send', frame })),
    resumeInput: sendTo('socket', { type: 'socket.resume' } satisfies SocketCommand),
    /** A request frame joins the queue of the state it arrived in. */
    queueRequest: sendTo('requests', (_, request: SessionRequest) => ({ type: 'requests.add', request })),
    /** A request's turn has come: its result changes the session (history, memory), then its reply leaves. */
    answerRequest: enqueueActions(({ context, enqueue }, params: { request: SessionRequest; result: RequestResult }) => {
      const { request, result } = params;
      enqueue.assign({
        historyUid:
          result.historyUid !== undefined ? result.historyUid : result.deletedUid !== undefined && result.deletedUid === context.historyUid ? null : context.historyUid,
        memory: result.memory ?? context.memory,
      });
      const frame = result.frame ?? (request.kind === 'inline' ? inlineReply(context, request.frame) : null);
      if (frame) enqueue.sendTo('socket', { type: 'socket.send', frame } satisfies SocketCommand);
    }),
    /**
     * A switch stops the request queue and the work it was doing (a late result would land in the new character). The
     * requests that needed no work (heartbeat, group info, init config) are still answered, in their order.
     */
    answerLeftInline: enqueueActions(({ context, enqueue, self }) => {
      const queue = self.getSnapshot().children.requests as ActorRefFrom<typeof requestQueueMachine> | undefined;
      for (const request of queue?.getSnapshot().context.pending ?? []) {
        const frame = request.kind === 'inline' ? inlineReply(context, request.frame) : null;
        if (frame) enqueue.sendTo('socket', { type: 'socket.send', frame } satisfies SocketCommand);
      }
    }),
    startTurn: assign((_, trigger: TurnTrigger) => ({ trigger, turnSpoken: [] as SentText[] })),
    bufferMic: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'client.mic-audio-data') return;
      const samples = context.mic.samples + event.frame.audio.length;
      if (samples > context.limits.micMaxSamples) {
        const seconds = Math.round(context.limits.micMaxSamples / 16000);
        const frame: ServerFrame = { type: 'error', code: 'mic_too_long', message: `Voice input longer than ${seconds} s was dropped; please speak in shorter parts` };
        enqueue.sendTo('socket', { type: 'socket.send', frame } satisfies SocketCommand);
        enqueue.assign({ mic: { chunks: [], samples: 0 } });
        return;
      }
      enqueue.assign({ mic: { chunks: [...context.mic.chunks, event.frame.audio], samples } });
    }),
    clearMic: assign({ mic: { chunks: [], samples: 0 } }),
    reportNoMicAudio: sendTo('socket', {
      type: 'socket.send',
      frame: { type: 'error', code: 'no_mic_audio', message: 'mic-audio-end arrived without any mic-audio-data: there is nothing to transcribe' },
    } satisfies SocketCommand),
    /** A turn replaced by new input: memory and history get the interrupt, the client the chain-end it was owed. */
    closeReplacedTurn: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ memory: rememberInterrupt(context.memory, '', context.character!.runtime.interruptMethod) });
      const spoken = joinDisplayTexts(context.turnSpoken.map((s) => s.said));
      const command = historyAppend(context, [...(spoken ? [aiEntry(context, spoken)] : []), systemEntry(context, INTERRUPT_MARKER)]);
      if (command) enqueue.sendTo('history', command);
      // As a finished turn ends: the next reply starts a new chat bubble, then the chain closes.
      for (const frame of [{ type: 'force-new-message' }, { type: 'control', text: 'conversation-chain-end' }] satisfies ServerFrame[]) {
        enqueue.sendTo('socket', { type: 'socket.send', frame } satisfies SocketCommand);
      }
    }),
    /** The user's words enter memory, and the history, when the turn starts. */
    rememberUserMessage: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'turn.user-message') return;
      enqueue.assign({ memory: addMessage(context.memory, { role: 'user', content: event.content }) });
      const command = historyAppend(context, [humanEntry(context, event.content)]);
      if (command) enqueue.sendTo('history', command);
    }),
    /**
     * The reply, once the turn is over and before its chain ends: the turn waits for `history.saved`, so what the
     * client is told has ended is on disk (DESIGN rule 7).
     */
    rememberReply: enqueueActions(({ context, enqueue }, output: TurnOutput) => {
      enqueue.assign({ memory: addMessage(context.memory, { role: 'assistant', content: output.reply }), trigger: null });
      const spoken = joinDisplayTexts(output.spoken);
      const command = spoken ? historyAppend(context, [aiEntry(context, spoken)]) : null;
      if (command) enqueue.sendTo('history', { ...command, confirm: true } satisfies HistoryCommand);
      else enqueue.sendTo('turn', { type: 'history.saved', ok: true } satisfies HistorySaved);
    }),
    /** A turn stopped by a disconnect or a switch: the history keeps what it had said (upstream lost it). */
    saveUnfinishedTurn: enqueueActions(({ context, enqueue }) => {
      if (context.trigger === null) return;
      const spoken = joinDisplayTexts(context.turnSpoken.map((s) => s.said));
      const command = spoken ? historyAppend(context, [aiEntry(context, spoken)]) : null;
      if (command) enqueue.sendTo('history', command);
      enqueue.assign({ trigger: null });
    }),
    trackSpoken: assign({
      turnSpoken: ({ context, event }) =>
        event.type === 'turn.frame' && event.frame.type === 'audio' && event.frame.display_text
          ? [...context.turnSpoken, { shown: event.frame.display_text.text, said: event.said ?? event.frame.display_text.text }]
          : context.turnSpoken,
    }),
    /** add-client-to-group: to this client's group, or to the server, which creates one owned by this client. */
    inviteToGroup: enqueueActions(({ context, event, enqueue, self }) => {
      if (event.type !== 'client.add-client-to-group') return;
      const inviteeUid = event.frame.invitee_uid;
      if (context.group) {
        enqueue.sendTo(context.group.ref, { type: 'group.invite', from: context.clientUid, inviteeUid } satisfies GroupEvent);
      } else if (context.groupPending) {
        const frame: ServerFrame = { type: 'group-operation-result', success: false, message: 'Your group is being set up; please try again in a moment' };
        enqueue.sendTo('socket', { type: 'socket.send', frame } satisfies SocketCommand);
      } else {
        enqueue.assign({ groupPending: true });
        enqueue.sendParent({
          type: 'group.create',
          owner: { uid: context.clientUid, ref: self },
          inviteeUid,
          maxMembers: context.limits.groupMaxMembers,
          rounds: context.limits.groupRounds,
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
      const target = system.get(`session:${targetUid}`) as AnyActorRef | undefined;
      const targetInGroup = (target?.getSnapshot() as { context?: { group?: unknown } } | undefined)?.context?.group;
      const message = targetInGroup ? 'Only group owner or self can remove members' : `Target ${targetUid} is not in any group`;
      const frame: ServerFrame = { type: 'group-operation-result', success: false, message };
      enqueue.sendTo('socket', { type: 'socket.send', frame } satisfies SocketCommand);
    }),
    /** Conversation input of a group member starts (or queues) a group conversation instead of a turn of its own. */
    toGroup: enqueueActions(({ context, enqueue }, trigger: TurnTrigger) => {
      const runtime = context.character!.runtime;
      const input: GroupTrigger = { trigger, humanName: context.character!.config.human_name, asr: runtime.asr, asrUnavailable: runtime.asrUnavailable, deadlines: context.limits.deadlines, clock: context.clock! };
      enqueue.sendTo(context.group!.ref, { type: 'group.input', uid: context.clientUid, input } satisfies GroupEvent);
    }),
    /** A running turn was cut short: memory and history keep what the user heard of it, then the interrupt marker. */
    rememberInterrupt: enqueueActions(({ context, enqueue }, heardReported: string) => {
      const heard = verifiedHeardText(heardReported, context.turnSpoken);
      enqueue.assign({ memory: rememberInterrupt(context.memory, heard, context.character!.runtime.interruptMethod) });
      const command = historyAppend(context, [...(heard ? [aiEntry(context, heard)] : []), systemEntry(context, INTERRUPT_MARKER)]);
      if (command) enqueue.sendTo('history', command);
    }),
  },
  guards: {
    hasCharacter: ({ context }) => context.character !== null,
    /** The states that invoke a request queue. */
    takesRequests: or([stateIn('#session.active'), stateIn('#session.switchingConfig')]),
    noMicAudio: ({ context }) => context.mic.samples === 0,
    /** In a group with somebody else: conversation input goes to the group. */
    inGroup: ({ context }) => context.group !== null && context.group.members.length > 1,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    clientUid: input.clientUid,
    socket: input.socket,
    character: null,
    limits: { ttsConcurrency: 1, playbackSlackMs: 0, micMaxSamples: 0, groupMaxMembers: 0, groupRounds: 1, mcpMaxSteps: 0, mcpStartTimeoutMs: 0, mcpCallTimeoutMs: 0, maxPendingRequests: 1, historyWriteDeadlineMs: 0 },
    clock: null,
    memory: [],
    mic: { chunks: [], samples: 0 },
    trigger: null,
    historyUid: null,
    turnSpoken: [],
    turns: 0,
    pendingFile: null,
    switches: 0,
    toolMode: 'native',
    group: null,
    groupPending: false,
  }),
  invoke: [
    { id: 'socket', src: 'socketBridge', input: ({ context }) => ({ socket: context.socket, clientUid: context.clientUid }) },
    { id: 'history', src: 'historyWriter', input: ({ context }) => ({ clientUid: context.clientUid }) },
  ],
  initial: 'initializing',
  on: {
    // Whatever a running turn had said is kept in the history before everything stops.
    'socket.closed': { target: '.disconnected', actions: 'saveUnfinishedTurn' },
    'server.shutdown': { target: '.disconnected', actions: 'saveUnfinishedTurn' },
    'client.invalid': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', code: 'invalid_frame', message: event.message }) } },
    'client.add-client-to-group': { actions: 'inviteToGroup' },
    'client.remove-client-from-group': { actions: 'removeFromGroup' },
    // From the group: an invitation (one group at a time), a new membership and its notices, frames of the group.
    'group.offer': {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        if (context.group || context.groupPending) {
          enqueue.sendTo(event.ref, { type: 'group.offer-declined', uid: context.clientUid, reason: `Invitee ${context.clientUid} is already in a group` } satisfies GroupEvent);
          return;
        }
        enqueue.assign({ group: { id: event.groupId, ref: event.ref, members: [], ownerUid: event.inviterUid } });
        enqueue.sendTo(event.ref, { type: 'group.offer-accepted', uid: context.clientUid, ref: self } satisfies GroupEvent);
      }),
    },
    'group.changed': {
      actions: enqueueActions(({ event, enqueue }) => {
        enqueue.assign({ group: event.membership, groupPending: false });
        for (const frame of event.frames) enqueue({ type: 'send', params: frame });
      }),
    },
    'group.deliver': {
      actions: enqueueActions(({ event, enqueue }) => {
        for (const frame of event.frames) enqueue({ type: 'send', params: frame });
      }),
    },
    // A group turn can only be given while a character is active (not during a switch).
    'group.turn-request': {
      actions: sendTo(({ event }) => event.replyTo, { type: 'group.turn-unavailable', reason: 'switching character' }),
    },
    'group.remember': {
      actions: assign({ memory: ({ context, event }) => event.messages.reduce(addMessage, context.memory) }),
    },
    'group.remember-interrupt': {
      guard: 'hasCharacter',
      actions: assign({ memory: ({ context, event }) => rememberInterrupt(context.memory, event.heard, context.character!.runtime.interruptMethod) }),
    },
    'group.record': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const command = historyAppend(context, event.messages);
        if (command) enqueue.sendTo('history', { ...command, ...(event.confirmTo ? { confirm: true, confirmTo: event.confirmTo } : {}) } satisfies HistoryCommand);
        else if (event.confirmTo) enqueue.sendTo(event.confirmTo, { type: 'group.recorded', uid: context.clientUid } satisfies GroupRecorded);
      }),
    },
    // A group conversation's lines are on disk in this member's history.
    'history.saved': {
      guard: ({ event }) => event.confirmTo !== undefined,
      actions: sendTo(({ event }) => event.confirmTo!, ({ context }) => ({ type: 'group.recorded', uid: context.clientUid }) satisfies GroupRecorded),
    },
    // Requests are answered in arrival order by the queue of the state they arrived in (request-queue.machine.ts).
    'client.fetch-configs': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'fetch-configs' } } },
    'client.fetch-backgrounds': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'fetch-backgrounds' } } },
    'client.fetch-history-list': {
      guard: 'takesRequests',
      actions: { type: 'queueRequest', params: ({ context }) => ({ kind: 'fetch-history-list', confUid: confUidOf(context), hiddenTags: hiddenTagsOf(context) }) },
    },
    'client.create-new-history': {
      guard: 'takesRequests',
      actions: { type: 'queueRequest', params: ({ context }) => ({ kind: 'create-new-history', confUid: confUidOf(context) }) },
    },
    'client.fetch-and-set-history': {
      guard: 'takesRequests',
      actions: {
        type: 'queueRequest',
        params: ({ context, event }) => ({
          kind: 'fetch-and-set-history',
          confUid: confUidOf(context),
          historyUid: event.frame.history_uid,
          interruptMethod: context.character!.runtime.interruptMethod,
          hiddenTags: hiddenTagsOf(context),
        }),
      },
    },
    'client.delete-history': {
      guard: 'takesRequests',
      actions: { type: 'queueRequest', params: ({ context, event }) => ({ kind: 'delete-history', confUid: confUidOf(context), historyUid: event.frame.history_uid }) },
    },
    'client.heartbeat': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'inline', frame: 'heartbeat' } } },
    'client.request-init-config': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'inline', frame: 'request-init-config' } } },
    'client.request-group-info': { guard: 'takesRequests', actions: { type: 'queueRequest', params: { kind: 'inline', frame: 'request-group-info' } } },
    'requests.answered': { actions: { type: 'answerRequest', params: ({ event }) => ({ request: event.request, result: event.result }) } },
    'requests.failed': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', code: 'query_failed', message: errorText(event.error) }) } },
    'requests.refused': {
      actions: {
        type: 'send',
        params: ({ event }) => ({
          type: 'error',
          code: 'too_many_requests',
          message: `"${requestFrameType(event.request)}" was refused: ${event.pending} requests are still waiting for their answers; wait for them before asking again`,
        }),
      },
    },
    'history.failed': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', code: 'history', message: event.message }) } },
    // Normal client traffic with nothing to act on while no turn runs (D23: an idle interrupt changes nothing),
    // unless the client is in a group: then its group conversation is the one to interrupt, wait for or show.
    'client.interrupt-signal': {
      guard: 'inGroup',
      actions: sendTo(({ context }) => context.group!.ref, ({ context, event }) => ({ type: 'group.interrupt', uid: context.clientUid, heard: event.frame.text ?? '' }) satisfies GroupEvent),
    },
    'client.frontend-playback-complete': {
      guard: 'inGroup',
      actions: sendTo(({ context }) => context.group!.ref, ({ context }) => ({ type: 'group.playback-complete', uid: context.clientUid }) satisfies GroupEvent),
    },
    'client.audio-play-start': {
      guard: 'inGroup',
      actions: sendTo(
        ({ context }) => context.group!.ref,
        ({ context, event }) =>
          ({
            type: 'group.audio-play-start',
            uid: context.clientUid,
            displayText: event.frame.display_text
              ? { text: event.frame.display_text.text, name: event.frame.display_text.name ?? '', avatar: event.frame.display_text.avatar ?? '' }
              : null,
          }) satisfies GroupEvent,
      ),
    },
    'client.mic-audio-data': {},
    '*': {
      actions: enqueueActions(({ event, enqueue }) => {
        const type = event.type.slice('client.'.length);
        if (NOT_YET.has(event.type)) {
          enqueue({ type: 'send', params: { type: 'error', code: 'not_supported', message: `"${type}" is not supported yet by this server` } });
        } else if (TURN_TRIGGERS.has(event.type)) {
          enqueue({ type: 'send', params: { type: 'error', code: 'busy_switching', message: `"${type}" arrived during a character switch; send it again once the new character is loaded` } });
        }
      }),
    },
  },
  states: {
    initializing: {
      invoke: {
        src: 'initSession',
        input: ({ context }) => ({ clientUid: context.clientUid }),
        onDone: {
          target: 'active',
          actions: [
            assign({ character: ({ event }) => event.output.character, limits: ({ event }) => event.output.limits, clock: ({ event }) => event.output.clock }),
            enqueueActions(({ context, enqueue }) => {
              for (const frame of connectSequence(modelAndConf(context.character!, context.clientUid))) enqueue({ type: 'send', params: frame });
            }),
            'resumeInput',
          ],
        },
        onError: {
          target: 'disconnected',
          actions: {
            type: 'send',
            params: ({ event }) => ({ type: 'error', code: 'session_setup', message: `Session setup failed: ${errorText(event.error)}` }),
          },
        },
      },
    },
    active: {
      initial: 'idle',
      invoke: [
        // The character's tool servers live while it is active: a switch or a disconnect stops them (D3, D4).
        {
          id: 'toolbox',
          src: 'toolbox',
          input: ({ context }) => ({
            clientUid: context.clientUid,
            servers: context.character!.runtime.mcp?.servers ?? {},
            toolLists: context.character!.runtime.mcp?.toolLists ?? { get: () => undefined, put: () => undefined },
            startTimeoutMs: context.limits.mcpStartTimeoutMs,
            callTimeoutMs: context.limits.mcpCallTimeoutMs,
          }),
        },
        // Requests made now are answered for this character; a switch stops whatever is still pending.
        { id: 'requests', src: 'requestQueue', input: ({ context }) => ({ maxPending: context.limits.maxPendingRequests }) },
      ],
      on: {
        'client.switch-config': {
          target: 'switchingConfig',
          actions: ['saveUnfinishedTurn', 'answerLeftInline', assign({ pendingFile: ({ event }) => event.frame.file })],
        },
        'client.mic-audio-data': { actions: 'bufferMic' },
        // This member's character speaks in its group's conversation: the group turn gets its engines and memory.
        'group.turn-request': {
          actions: sendTo(
            ({ event }) => event.replyTo,
            ({ context, event, self }) => ({ type: 'group.turn-input', input: groupTurnInput(context, event, self.getSnapshot().children.toolbox) }) satisfies GroupTurnReply,
          ),
        },
      },
      states: {
        idle: {
          on: {
            'client.text-input': [
              { guard: 'inGroup', actions: { type: 'toGroup', params: ({ event }) => textTrigger(event) } },
              { target: 'responding', actions: { type: 'startTurn', params: ({ event }) => textTrigger(event) } },
            ],
            'client.mic-audio-end': [
              { guard: 'noMicAudio', actions: 'reportNoMicAudio' },
              { guard: 'inGroup', actions: [{ type: 'toGroup', params: ({ context, event }) => voiceTrigger(context, event) }, 'clearMic'] },
              { target: 'responding', actions: [{ type: 'startTurn', params: ({ context, event }) => voiceTrigger(context, event) }, 'clearMic'] },
            ],
            'client.ai-speak-signal': [
              { guard: 'inGroup', actions: { type: 'toGroup', params: ({ context, event }) => proactiveTrigger(context, event) } },
              {
                target: 'responding',
                actions: [
                  { type: 'send', params: { type: 'full-text', text: 'AI wants to speak something...' } },
                  { type: 'startTurn', params: ({ context, event }) => proactiveTrigger(context, event) },
                ],
              },
            ],
          },
        },
        responding: {
          entry: assign({ turns: ({ context }) => context.turns + 1 }),
          invoke: {
            id: 'turn',
            src: 'turn',
            input: ({ context, self }) => turnInput(context, self.getSnapshot().children.toolbox),
            onDone: { target: 'idle', actions: assign({ trigger: null }) },
            // A turn that failed in an unexpected way still ends the chain for the client (D7).
            onError: {
              target: 'idle',
              actions: [
                { type: 'send', params: ({ event }) => ({ type: 'error', code: 'conversation', message: `Conversation error: ${errorText(event.error)}` }) },
                { type: 'send', params: { type: 'control', text: 'conversation-chain-end' } },
                assign({ trigger: null }),
              ],
            },
          },
          on: {
            'turn.frame': { actions: ['trackSpoken', { type: 'send', params: ({ event }) => event.frame }] },
            'turn.user-message': { actions: 'rememberUserMessage' },
            'turn.finished': { actions: { type: 'rememberReply', params: ({ event }) => event.output } },
            // Relayed by the session (not sent to the turn directly), so the turn's last frames and its end reach
            // the session in one order, before anything a frame causes elsewhere (a proxy releasing its next input).
            'history.saved': { guard: ({ event }) => event.confirmTo === undefined, actions: sendTo('turn', ({ event }) => event) },
            'turn.tool-mode': { actions: assign({ toolMode: ({ event }) => event.mode }) },
            'client.frontend-playback-complete': { actions: sendTo('turn', { type: 'playback.complete' }) },
            'client.interrupt-signal': {
              target: 'idle',
              actions: [{ type: 'rememberInterrupt', params: ({ event }) => event.frame.text }, assign({ trigger: null })],
            },
            // One turn at a time (D5): new input stops the running turn first. Without an interrupt-signal the
            // client did not stop its playback, so the replaced turn is closed with a chain-end of its own.
            'client.text-input': {
              target: 'responding',
              reenter: true,
              actions: ['closeReplacedTurn', { type: 'startTurn', params: ({ event }) => textTrigger(event) }],
            },
            'client.mic-audio-end': [
              { guard: 'noMicAudio', actions: 'reportNoMicAudio' },
              {
                target: 'responding',
                reenter: true,
                actions: ['closeReplacedTurn', { type: 'startTurn', params: ({ context, event }) => voiceTrigger(context, event) }, 'clearMic'],
              },
            ],
            'client.ai-speak-signal': {
              target: 'responding',
              reenter: true,
              actions: [
                'closeReplacedTurn',
                { type: 'send', params: { type: 'full-text', text: 'AI wants to speak something...' } },
                { type: 'startTurn', params: ({ context, event }) => proactiveTrigger(context, event) },
              ],
            },
          },
        },
      },
    },
    switchingConfig: {
      invoke: [
        // Requests made during the switch; the switch's end stops what is pending (the client asks again then).
        { id: 'requests', src: 'requestQueue', input: ({ context }) => ({ maxPending: context.limits.maxPendingRequests }) },
        {
          src: 'loadCharacter',
          input: ({ context }) => ({ file: context.pendingFile!, clientUid: context.clientUid }),
          onDone: {
            target: 'active',
            actions: [
              assign({
                character: ({ event }) => event.output,
                pendingFile: null,
                switches: ({ context }) => context.switches + 1,
                // A new character starts a new conversation: the client asks for a new history next; until then nothing
                // is recorded, so no message can land in the previous character's folder.
                memory: [],
                historyUid: null,
                toolMode: 'native',
              }),
              { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
              {
                type: 'send',
                params: ({ context }) => ({ type: 'config-switched', message: `Switched to config: ${context.character!.file}` }),
              },
            ],
          },
          onError: {
            target: 'active',
            // One error, then the configuration that stays active, so the client leaves its loading state (D13).
            actions: [
              {
                type: 'send',
                params: ({ event }) => ({ type: 'error', code: 'switch_failed', message: `Error switching configuration: ${errorText(event.error)}` }),
              },
              { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
              assign({ pendingFile: null }),
            ],
          },
        },
      ],
      on: {
        // A newer switch wins: re-entering stops the running load and starts the new one.
        'client.switch-config': {
          target: 'switchingConfig',
          reenter: true,
          actions: ['answerLeftInline', assign({ pendingFile: ({ event }) => event.frame.file })],
        },
      },
    },
    disconnected: {
      type: 'final',
      // The group hears of it as an event; it updates the others and closes if one member is left.
      entry: enqueueActions(({ context, enqueue }) => {
        if (context.group) enqueue.sendTo(context.group.ref, { type: 'group.member-gone', uid: context.clientUid } satisfies GroupEvent);
      }),
    },
  },
});

/** The reply to a request the session answers from its own state, built when its turn in the queue comes. */
function inlineReply(context: SessionContext, frame: Extract<SessionRequest, { kind: 'inline' }>['frame']): ServerFrame | null {
  switch (frame) {
    case 'heartbeat':
      return { type: 'heartbeat-ack' };
    case 'request-init-config':
      return context.character ? modelAndConf(context.character, context.clientUid) : null;
    case 'request-group-info':
      return {
        type: 'group-update',
        members: context.group?.members ?? [],
        is_owner: context.group !== null && context.group.ownerUid === context.clientUid,
      };
  }
}

function requestFrameType(request: SessionRequest): string {
  return request.kind === 'inline' ? request.frame : request.kind;
}

const confUidOf = (context: SessionContext) => context.character?.config.conf_uid ?? '';

/** The emotion tags the chat does not show (history files and memory keep them). */
const hiddenTagsOf = (context: SessionContext) =>
  context.character && !context.character.runtime.showEmotionTags ? context.character.modelInfo.emotionMap : {};

function historyAppend(context: SessionContext, messages: HistoryMessage[]): HistoryCommand | null {
  if (!context.historyUid || !context.character || messages.length === 0) return null;
  return { type: 'history.append', confUid: context.character.config.conf_uid, historyUid: context.historyUid, messages };
}

/** Now, as the history stamps it, by the session's clock. */
const stamp = (context: SessionContext) => formatLocalTimestamp(new Date(context.clock!.now()));

function aiEntry(context: SessionContext, content: string): HistoryMessage {
  const { config } = context.character!;
  return { role: 'ai', timestamp: stamp(context), content, name: config.character_name ?? config.conf_name, avatar: config.avatar };
}

function humanEntry(context: SessionContext, content: string): HistoryMessage {
  return { role: 'human', timestamp: stamp(context), content, name: context.character!.config.human_name };
}

function systemEntry(context: SessionContext, content: string): HistoryMessage {
  return { role: 'system', timestamp: stamp(context), content };
}

function textTrigger(event: Extract<SessionEvent, { type: 'client.text-input' }>): TurnTrigger {
  return { kind: 'text', text: event.frame.text, images: event.frame.images };
}

function voiceTrigger(context: SessionContext, event: Extract<SessionEvent, { type: 'client.mic-audio-end' }>): TurnTrigger {
  const samples = new Float32Array(context.mic.samples);
  let at = 0;
  for (const chunk of context.mic.chunks) {
    samples.set(chunk, at);
    at += chunk.length;
  }
  return { kind: 'audio', samples, images: event.frame.images };
}

function proactiveTrigger(context: SessionContext, event: Extract<SessionEvent, { type: 'client.ai-speak-signal' }>): TurnTrigger {
  return { kind: 'proactive', prompt: context.character!.runtime.proactivePrompt, images: event.frame.images };
}

export function turnInput(context: SessionContext, toolbox?: AnyActorRef): TurnInput {
  const character = context.character!;
  const { runtime, config, modelInfo } = character;
  const tools =
    runtime.mcp && toolbox
      ? {
          toolbox,
          mode: context.toolMode,
          maxSteps: context.limits.mcpMaxSteps,
          promptTemplate: runtime.mcp.promptTemplate,
          // The longest any of its servers may take to start and to answer (a server's own `timeout` wins).
          answerBoundMs:
            context.limits.mcpStartTimeoutMs + Math.max(context.limits.mcpCallTimeoutMs, ...Object.values(runtime.mcp.servers).map((s) => (s.timeout ?? 0) * 1000)),
        }
      : undefined;
  return {
    clientUid: context.clientUid,
    trigger: context.trigger!,
    speaker: { name: config.character_name ?? config.conf_name, avatar: config.avatar },
    emotionMap: modelInfo.emotionMap,
    showEmotionTags: runtime.showEmotionTags,
    preprocessor: config.tts_preprocessor_config,
    fasterFirstResponse: runtime.fasterFirstResponse,
    system: runtime.systemPrompt,
    memory: context.memory,
    engines: { llm: runtime.llm, tts: runtime.tts, asr: runtime.asr },
    clock: context.clock!,
    asrUnavailable: runtime.asrUnavailable,
    ttsConcurrency: context.limits.ttsConcurrency,
    playbackSlackMs: context.limits.playbackSlackMs,
    record: { deadlineMs: context.limits.historyWriteDeadlineMs },
    deadlines: context.limits.deadlines,
    ...(tools ? { tools } : {}),
  };
}

/** A member turn of a group conversation: the lines it has not seen as its input, the group prompt in its system. */
export function groupTurnInput(context: SessionContext, request: GroupTurnRequest, toolbox?: AnyActorRef): TurnInput {
  const runtime = context.character!.runtime;
  const trigger: TurnTrigger = request.proactive
    ? { kind: 'proactive', prompt: runtime.proactivePrompt, images: request.images }
    : { kind: 'text', text: request.text, images: request.images };
  // The group conversation records its members' turns itself (`turn.finished`), then lets the chain end.
  const base = turnInput({ ...context, trigger }, toolbox);
  const groupPrompt = runtime.groupPrompt
    .replaceAll('{human_name}', request.humanName)
    .replaceAll('{other_ais}', request.otherAis.join(', ') || 'none');
  return { ...base, system: groupPrompt.trim() ? `${base.system}\n\n${groupPrompt.trim()}` : base.system };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
