import { assign, enqueueActions, fromCallback, fromPromise, sendTo, setup, stopChild, type EventObject } from 'xstate';
import type { Character } from '../src/config/app-config.js';
import type { ClientFrame, ClientFrameType } from '../src/protocol/client-frames.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';
import type { SocketHandle } from '../src/server/socket-handle.js';
import { emptyIdPool, idSuffix, releaseId, takeId, type IdPool } from './id-pool.js';

/**
 * One actor per connected client (`/client-ws`). Everything the client causes to run is a child of this actor,
 * invoked in the state where it may live; reaching `disconnected` (final) stops all of it.
 *
 *   initializing → active ⇄ switchingConfig → disconnected
 *
 * The socket itself is a root-level child (`socket`): it lives exactly as long as the session.
 */

/** A validated inbound frame, as the event `client.<frame type>`. */
export type ClientEvent = {
  [K in ClientFrameType]: { type: `client.${K}`; frame: Extract<ClientFrame, { type: K }> };
}[ClientFrameType];

export type SessionEvent =
  | ClientEvent
  | { type: 'client.invalid'; message: string }
  | { type: 'socket.closed'; code: number; reason: string }
  | { type: 'server.shutdown' }
  // Replies of the query children, emitted by XState.
  | { type: `xstate.done.actor.query.${number}`; actorId: string; output: ServerFrame }
  | { type: `xstate.error.actor.query.${number}`; actorId: string; error: unknown };

/** Events the session sends to its socket bridge. */
export type SocketCommand = { type: 'socket.send'; frame: ServerFrame } | { type: 'socket.resume' };

export interface SessionInput {
  clientUid: string;
  socket: SocketHandle;
}

export interface SessionContext {
  clientUid: string;
  socket: SocketHandle;
  /** The active character; null only while initializing. */
  character: Character | null;
  /** The file of the switch in progress. */
  pendingFile: string | null;
  /** Ids of the short-lived query children (`query.<n>`), reused (see id-pool.ts). */
  queryIds: IdPool;
  switches: number;
}

export interface SocketBridgeInput {
  socket: SocketHandle;
  clientUid: string;
}

/** Frames of later work: answered with a clear error until their issue lands. */
const NOT_YET: ReadonlySet<string> = new Set([
  'client.text-input',
  'client.mic-audio-end',
  'client.ai-speak-signal',
  'client.raw-audio-data',
  'client.fetch-history-list',
  'client.fetch-and-set-history',
  'client.create-new-history',
  'client.delete-history',
  'client.add-client-to-group',
  'client.remove-client-from-group',
]);

export function modelAndConf(character: Character, clientUid: string): ServerFrame {
  return {
    type: 'set-model-and-conf',
    model_info: character.modelInfo,
    conf_name: character.config.conf_name,
    conf_uid: character.config.conf_uid,
    client_uid: clientUid,
  };
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
    initSession: fromPromise<Character, { clientUid: string }>(notProvided('initSession')),
    /** The heavy part of switch-config: validate, merge over the base config, build engines. */
    loadCharacter: fromPromise<Character, { file: string; clientUid: string }>(notProvided('loadCharacter')),
    /** `config-files` reply. */
    listConfigs: fromPromise<ServerFrame, void>(notProvided('listConfigs')),
    /** `background-files` reply. */
    listBackgrounds: fromPromise<ServerFrame, void>(notProvided('listBackgrounds')),
  },
  actions: {
    send: sendTo('socket', (_, frame: ServerFrame): SocketCommand => ({ type: 'socket.send', frame })),
    resumeInput: sendTo('socket', { type: 'socket.resume' } satisfies SocketCommand),
    startQuery: enqueueActions(({ context, enqueue }, params: { src: 'listConfigs' | 'listBackgrounds' }) => {
      const [id, queryIds] = takeId(context.queryIds);
      enqueue.assign({ queryIds });
      enqueue.spawnChild(params.src, { id: `query.${id}` });
    }),
    releaseQuery: enqueueActions(({ context, enqueue }, actorId: string) => {
      enqueue(stopChild(actorId));
      enqueue.assign({ queryIds: releaseId(context.queryIds, idSuffix(actorId)) });
    }),
  },
  guards: {
    hasCharacter: ({ context }) => context.character !== null,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    clientUid: input.clientUid,
    socket: input.socket,
    character: null,
    pendingFile: null,
    queryIds: emptyIdPool(),
    switches: 0,
  }),
  invoke: {
    id: 'socket',
    src: 'socketBridge',
    input: ({ context }) => ({ socket: context.socket, clientUid: context.clientUid }),
  },
  initial: 'initializing',
  on: {
    'socket.closed': '.disconnected',
    'server.shutdown': '.disconnected',
    'client.invalid': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', message: event.message }) } },
    'client.heartbeat': { actions: { type: 'send', params: { type: 'heartbeat-ack' } } },
    'client.request-init-config': {
      guard: 'hasCharacter',
      actions: { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
    },
    'client.request-group-info': {
      actions: { type: 'send', params: { type: 'group-update', members: [], is_owner: false } },
    },
    'client.fetch-configs': { actions: { type: 'startQuery', params: { src: 'listConfigs' } } },
    'client.fetch-backgrounds': { actions: { type: 'startQuery', params: { src: 'listBackgrounds' } } },
    // A query child's output is its reply frame; once sent, the finished child is released.
    'xstate.done.actor.query.*': {
      actions: [
        { type: 'send', params: ({ event }) => event.output },
        { type: 'releaseQuery', params: ({ event }) => event.actorId },
      ],
    },
    'xstate.error.actor.query.*': {
      actions: [
        { type: 'send', params: ({ event }) => ({ type: 'error', message: errorText(event.error) }) },
        { type: 'releaseQuery', params: ({ event }) => event.actorId },
      ],
    },
    // Normal client traffic with nothing to act on while no turn runs (D23: an idle interrupt changes nothing).
    'client.interrupt-signal': {},
    'client.frontend-playback-complete': {},
    'client.audio-play-start': {},
    'client.mic-audio-data': {},
    '*': {
      actions: enqueueActions(({ event, enqueue }) => {
        if (!NOT_YET.has(event.type)) return;
        const type = event.type.slice('client.'.length);
        enqueue({ type: 'send', params: { type: 'error', message: `"${type}" is not supported yet by this server` } });
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
            assign({ character: ({ event }) => event.output }),
            // The upstream connect sequence, in its exact order (PROTOCOL §2.1).
            { type: 'send', params: { type: 'group-update', members: [], is_owner: false } },
            { type: 'send', params: { type: 'full-text', text: 'Connection established' } },
            { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
            { type: 'send', params: { type: 'group-update', members: [], is_owner: false } },
            { type: 'send', params: { type: 'control', text: 'start-mic' } },
            'resumeInput',
          ],
        },
        onError: {
          target: 'disconnected',
          actions: {
            type: 'send',
            params: ({ event }) => ({ type: 'error', message: `Session setup failed: ${errorText(event.error)}` }),
          },
        },
      },
    },
    active: {
      on: {
        'client.switch-config': {
          target: 'switchingConfig',
          actions: assign({ pendingFile: ({ event }) => event.frame.file }),
        },
      },
    },
    switchingConfig: {
      invoke: {
        src: 'loadCharacter',
        input: ({ context }) => ({ file: context.pendingFile!, clientUid: context.clientUid }),
        onDone: {
          target: 'active',
          actions: [
            assign({
              character: ({ event }) => event.output,
              pendingFile: null,
              switches: ({ context }) => context.switches + 1,
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
              params: ({ event }) => ({ type: 'error', message: `Error switching configuration: ${errorText(event.error)}` }),
            },
            { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
            assign({ pendingFile: null }),
          ],
        },
      },
      on: {
        // A newer switch wins: re-entering stops the running load and starts the new one.
        'client.switch-config': {
          target: 'switchingConfig',
          reenter: true,
          actions: assign({ pendingFile: ({ event }) => event.frame.file }),
        },
      },
    },
    disconnected: { type: 'final' },
  },
});

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
