import { assign, enqueueActions } from 'xstate';
import type { SessionCharacter } from './session-character.js';
import type { ClientEvent, SessionSetup } from './session-contract.js';
import { connectSequence, modelAndConf } from './session-connect.js';
import { conversation } from './session-conversation.js';
import { activeGroupHandlers, groupLinkHandlers } from './session-group-link.js';
import { requestHandlers, requestQueueInvoke } from './session-requests.js';
import { toSocket } from './session-setup.js';
import { errorText } from './error-text.js';
import { voiceDetectionInput, voiceHandlers, withVoice } from './session-voice.js';

/**
 * One actor per connected client (`/client-ws`). Everything the client causes to run is a child of this actor,
 * invoked in the state where it may live; reaching `disconnected` (final) stops all of it.
 *
 *   initializing → active (idle ⇄ responding) ⇄ switchingConfig → disconnected
 *
 * This file is the connection's lifecycle; each other concern is a file of its own, read in this order:
 *   session-contract.ts     context, events, the slots' commands
 *   session-setup.ts        the slots (socket, history writer, loaders, turn, toolbox, request queue)
 *   session-requests.ts     requests answered in arrival order, by a queue invoked in `active` and `switchingConfig`
 *   session-group-link.ts   the chat group: invitations, its frames, its conversation
 *   session-conversation.ts idle ⇄ responding, interrupts, memory and history of turns
 *   session-voice.ts        voice detection on the server (raw-audio-data): barge-in and utterances as turns
 *
 * The socket and the history writer are root-level children: they live exactly as long as the session. The
 * character's tool servers and the request queue live in `active`, so a switch or a disconnect stops them
 * (docs/upstream-defects.md, U2).
 */

/** Every client frame has a handler at the root: the state's own, or what it means in any other state. */
const frames = withVoice.createStateConfig({
  on: {
    ...requestHandlers.on,
    ...groupLinkHandlers.on,
    // Conversation input outside `active` (it cannot arrive before the session is set up: input is paused until then).
    'client.text-input': { actions: { type: 'send', params: busySwitching('text-input') } },
    'client.mic-audio-end': [
      // The answer to the `control: mic-audio-end` of an utterance found just before the switch.
      { guard: 'answersVoiceEnd', actions: 'takeVoiceEndAnswer' },
      { actions: { type: 'send', params: busySwitching('mic-audio-end') } },
    ],
    'client.ai-speak-signal': { actions: { type: 'send', params: busySwitching('ai-speak-signal') } },
    // Audio of an utterance during a switch is dropped with it: the client is told to speak again (above). Raw audio
    // is a stream: the new character's detector hears what comes after the switch.
    'client.mic-audio-data': {},
    'client.raw-audio-data': {},
    // Only `active` and `switchingConfig` switch (input is paused while the session is set up).
    'client.switch-config': {},
  },
});

/** A frame type without a handler above is a compile error here (it would otherwise be dropped without a word). */
type AssertNone<T extends never> = T;
export type UnhandledClientFrames = AssertNone<Exclude<ClientEvent['type'], keyof typeof frames.on>>;

/** The connection's own steps: the session set up, a character switched. */
const withLifecycle = withVoice.extend({
  actions: {
    /** The session is set up: its character, its limits and its clock are kept. */
    takeSetup: assign((_, setup: SessionSetup) => ({ character: setup.character, limits: setup.limits, clock: setup.clock })),
    /** The frames a client gets on connecting, for the active character. */
    sendConnectSequence: enqueueActions(({ context, enqueue }) => {
      for (const frame of connectSequence(modelAndConf(context.character!, context.clientUid))) enqueue.sendTo('socket', toSocket(frame));
    }),
    /** The character file a switch loads (a newer switch replaces it). */
    takePendingFile: assign({ pendingFile: ({ context, event }) => (event.type === 'client.switch-config' ? event.frame.file : context.pendingFile) }),
    /** The switched-to character is active, with a new conversation (no memory, no history yet, native tool calls). */
    takeCharacter: assign({
      character: (_, character: SessionCharacter) => character,
      pendingFile: null,
      switches: ({ context }) => context.switches + 1,
      // A new character starts a new conversation: the client asks for a new history next; until then nothing
      // is recorded, so no message can land in the previous character's folder.
      memory: [],
      historyUid: null,
      toolMode: 'native',
    }),
    /** A switch is over (it failed): no character file is pending. */
    clearPendingFile: assign({ pendingFile: null }),
  },
});

export const sessionMachine = withLifecycle.createMachine({
  id: 'session',
  context: ({ input }) => ({
    clientUid: input.clientUid,
    socket: input.socket,
    character: null,
    limits: { ttsConcurrency: 1, playbackSlackMs: 0, micMaxSamples: 0, group: { invite: 'owner', maxMembers: 0, rounds: 1 }, groupMemberAnswerMs: 0, mcpMaxSteps: 0, mcpStartTimeoutMs: 0, mcpCallTimeoutMs: 0, maxPendingRequests: 1, historyWriteDeadlineMs: 0 },
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
    voiceEndOwed: false,
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
    'history.failed': { actions: { type: 'send', params: ({ event }) => ({ type: 'error', code: 'history', message: event.message }) } },
    ...frames.on,
  },
  states: {
    initializing: {
      invoke: {
        src: 'initSession',
        input: ({ context }) => ({ clientUid: context.clientUid }),
        onDone: {
          target: 'active',
          actions: [{ type: 'takeSetup', params: ({ event }) => event.output }, 'sendConnectSequence', 'resumeInput'],
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
      ...conversation,
      invoke: [
        // The character's tool servers live while it is active: a switch or a disconnect stops them
        // (docs/upstream-defects.md, U2).
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
        requestQueueInvoke,
        // Voice detection for raw audio: nothing is loaded until the client sends some (session-voice.ts).
        { id: 'vad', src: 'voiceDetection', input: ({ context }) => voiceDetectionInput(context) },
      ],
      on: {
        ...conversation.on,
        ...activeGroupHandlers.on,
        ...voiceHandlers.on,
        'client.switch-config': {
          target: 'switchingConfig',
          actions: ['saveUnfinishedTurn', 'answerLeftInline', 'takePendingFile'],
        },
      },
    },
    switchingConfig: {
      entry: 'endMemoryWork',
      invoke: [
        // Requests made during the switch; the switch's end stops what is pending (the client asks again then).
        requestQueueInvoke,
        {
          src: 'loadCharacter',
          input: ({ context }) => ({ file: context.pendingFile!, clientUid: context.clientUid }),
          onDone: {
            target: 'active',
            actions: [
              { type: 'takeCharacter', params: ({ event }) => event.output },
              { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
              { type: 'send', params: ({ context }) => ({ type: 'config-switched', message: `Switched to config: ${context.character!.file}` }) },
            ],
          },
          onError: {
            target: 'active',
            // One error, then the configuration that stays active, so the client leaves its loading state
            // (docs/upstream-defects.md, U24).
            actions: [
              { type: 'send', params: ({ event }) => ({ type: 'error', code: 'switch_failed', message: `Error switching configuration: ${errorText(event.error)}` }) },
              { type: 'send', params: ({ context }) => modelAndConf(context.character!, context.clientUid) },
              'clearPendingFile',
            ],
          },
        },
      ],
      on: {
        // A newer switch wins: re-entering stops the running load and starts the new one.
        'client.switch-config': {
          target: 'switchingConfig',
          reenter: true,
          actions: ['answerLeftInline', 'takePendingFile'],
        },
      },
    },
    disconnected: {
      type: 'final',
      entry: ['leaveGroup', 'endMemoryWork'],
    },
  },
});

function busySwitching(type: string) {
  return { type: 'error', code: 'busy_switching', message: `"${type}" arrived during a character switch; send it again once the new character is loaded` } as const;
}

export { connectSequence, modelAndConf } from './session-connect.js';
export { turnInput, groupTurnInput } from './session-turn-input.js';
export type * from './session-contract.js';
