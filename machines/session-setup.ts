import { enqueueActions, fromCallback, fromPromise, sendTo, setup, type ActorRef, type EventObject, type Snapshot } from 'xstate';
import type { SessionCharacter } from './session-character.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import { requestQueueMachine } from './request-queue.machine.js';
import type { HistoryCommand, SessionContext, SessionEvent, SessionInput, SessionSetup, SocketBridgeInput, SocketCommand } from './session-contract.js';
import { toolboxMachine } from './toolbox.machine.js';
import { turnMachine } from './turn.machine.js';
import { voiceDetectionMachine } from './voice-detection.machine.js';
import { MEMORY_SYSTEM_ID, type MemoryEvent } from './memory.machine.js';

const notProvided = (name: string) => () => {
  throw new Error(`actor "${name}" must be provided with machine.provide()`);
};

/**
 * The session machine's types, its slots and the one action every part uses (`send`). Each concern adds its own
 * actions and guards to this with `extend` (session-requests → session-group-link → session-conversation), and
 * session.machine.ts builds the machine from the last.
 */
export const sessionSetup = setup({
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
    /** Voice detection on the server (`raw-audio-data`), invoked in `active`. */
    voiceDetection: voiceDetectionMachine,
    /** Writes turns to the current history (stamping each line with the time); reports `history.failed`. */
    historyWriter: fromCallback<HistoryCommand, { clientUid: string }, EventObject>(notProvided('historyWriter')),
  },
  actions: {
    send: sendTo('socket', (_, frame: ServerFrame): SocketCommand => ({ type: 'socket.send', frame })),
    resumeInput: sendTo('socket', { type: 'socket.resume' } satisfies SocketCommand),
    /** Long-term memory's work for this session (learning from its writes) stops with a switch or a disconnect. */
    endMemoryWork: enqueueActions(({ context, enqueue, system }) => {
      const memory = system.get(MEMORY_SYSTEM_ID);
      const left: MemoryEvent = { type: 'memory.sessionLeft', clientUid: context.clientUid };
      if (memory) enqueue.sendTo(memory as ActorRef<Snapshot<unknown>, MemoryEvent>, left);
    }),
  },
  guards: {
    hasCharacter: ({ context }) => context.character !== null,
  },
});

/** A frame for the socket child, from inside `enqueueActions`. */
export const toSocket = (frame: ServerFrame): SocketCommand => ({ type: 'socket.send', frame });
