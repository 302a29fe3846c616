import { createActor, fromCallback, fromPromise, type AnyActorRef, type EventObject } from 'xstate';
import { sessionMachine, type SessionEvent, type SocketBridgeInput, type SocketCommand } from '../../machines/session.machine.js';
import type { HistoryCommand, SessionSetup } from '../../machines/session.machine.js';
import { requestQueueMachine, type RequestResult, type SessionRequest } from '../../machines/request-queue.machine.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { SocketHandle } from '../../src/server/socket-handle.js';
import { ActorCensus } from '../../src/observability/actor-census.js';
import type { SessionCharacter } from '../../machines/session-character.js';
import { CLIENT_FRAME_TYPES } from '../../src/protocol/client-frames.js';

const character = (name: string): SessionCharacter =>
  ({
    file: `${name}.yaml`,
    config: { conf_name: name, conf_uid: `${name}_uid` },
    modelInfo: { name: 'mao_pro', url: '/m.json', emotionMap: {} },
    runtime: { interruptMethod: 'system' },
  }) as unknown as SessionCharacter;
const limits = { ttsConcurrency: 1, playbackSlackMs: 0, micMaxSamples: 16000, group: { invite: 'any' as const, maxMembers: 8, rounds: 1 }, groupMemberAnswerMs: 5000, mcpMaxSteps: 8, mcpStartTimeoutMs: 5000, mcpCallTimeoutMs: 5000, maxPendingRequests: 4, historyWriteDeadlineMs: 5000 };

/** The session machine with fake actors at its edges: a socket that records frames, loaders under test control. */
function harness(options: { initFails?: boolean } = {}) {
  const sent: ServerFrame[] = [];
  let resumed = 0;
  let socketStopped = 0;
  let toSession: ((ev: EventObject) => void) | undefined;
  const loads: Array<{ file: string; signal: AbortSignal; resolve: (c: SessionCharacter) => void; reject: (e: Error) => void }> = [];
  /** History loads wait here until the test answers them. */
  const historyLoads: Array<{ request: SessionRequest; signal: AbortSignal; resolve: (r: RequestResult) => void }> = [];
  const census = new ActorCensus();

  const machine = sessionMachine.provide({
    actors: {
      socketBridge: fromCallback<SocketCommand, SocketBridgeInput, EventObject>(({ sendBack, receive }) => {
        toSession = sendBack;
        receive((cmd) => (cmd.type === 'socket.send' ? sent.push(cmd.frame) : resumed++));
        return () => socketStopped++;
      }),
      initSession: fromPromise<SessionSetup, { clientUid: string }>(async () => {
        if (options.initFails) throw new Error('no model');
        return { character: character('base'), limits, clock: { now: () => 0 } };
      }),
      loadCharacter: fromPromise<SessionCharacter, { file: string; clientUid: string }>(
        ({ input, signal }) => new Promise((resolve, reject) => loads.push({ file: input.file, signal, resolve, reject })),
      ),
      requestQueue: requestQueueMachine.provide({
        actors: {
          answerRequest: fromPromise<RequestResult, Exclude<SessionRequest, { kind: 'inline' }>>(async ({ input, signal }) => {
            if (input.kind === 'fetch-configs') return { frame: { type: 'config-files', configs: [] } };
            if (input.kind === 'fetch-and-set-history') {
              return new Promise((resolve) => historyLoads.push({ request: input, signal, resolve }));
            }
            throw new Error('disk on fire');
          }),
        },
      }),
      historyWriter: fromCallback<HistoryCommand, { clientUid: string }, EventObject>(() => () => undefined),
    },
  });
  const actor = createActor(machine, {
    input: { clientUid: 'uid-1', socket: {} as SocketHandle },
    inspect: census.observe,
  }).start();
  const emit = (ev: SessionEvent) => toSession!(ev);
  const tick = () => new Promise((r) => setImmediate(r));
  return { actor, sent, loads, historyLoads, census, emit, tick, resumed: () => resumed, socketStopped: () => socketStopped };
}

describe('session machine (fake actors at the edges)', () => {
  test('initializing → active sends the connect frames, then opens the socket input', async () => {
    const h = harness();
    expect(h.actor.getSnapshot().value).toBe('initializing');
    await h.tick();
    expect(h.actor.getSnapshot().value).toEqual({ active: 'idle' });
    expect(h.sent.map((f) => f.type)).toEqual(['group-update', 'full-text', 'set-model-and-conf', 'group-update', 'control']);
    expect(h.resumed()).toBe(1);
  });

  test('a failed init sends one error and ends the session (its socket actor is stopped)', async () => {
    const h = harness({ initFails: true });
    await h.tick();
    expect(h.sent).toEqual([{ type: 'error', code: 'session_setup', message: 'Session setup failed: no model' }]);
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.socketStopped()).toBe(1);
  });

  test('switch → switchingConfig; a second switch aborts the first load; only the second answers', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.switch-config', frame: { type: 'switch-config', file: 'a.yaml' } });
    expect(h.actor.getSnapshot().value).toBe('switchingConfig');
    h.emit({ type: 'client.switch-config', frame: { type: 'switch-config', file: 'b.yaml' } });
    expect(h.loads.map((l) => [l.file, l.signal.aborted])).toEqual([['a.yaml', true], ['b.yaml', false]]);
    h.loads[0]!.resolve(character('a')); // too late: must not be applied
    h.loads[1]!.resolve(character('b'));
    await h.tick();
    expect(h.actor.getSnapshot().value).toEqual({ active: 'idle' });
    expect(h.sent.slice(5)).toEqual([
      expect.objectContaining({ type: 'set-model-and-conf', conf_name: 'b', client_uid: 'uid-1' }),
      { type: 'config-switched', message: 'Switched to config: b.yaml' },
    ]);
    expect(h.actor.getSnapshot().context.switches).toBe(1);
  });

  test('a failed switch keeps the old character and re-sends it after one error (U24)', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.switch-config', frame: { type: 'switch-config', file: 'a.yaml' } });
    h.loads[0]!.reject(new Error('a.yaml: bad'));
    await h.tick();
    expect(h.sent.slice(5)).toEqual([
      { type: 'error', code: 'switch_failed', message: 'Error switching configuration: a.yaml: bad' },
      expect.objectContaining({ type: 'set-model-and-conf', conf_name: 'base' }),
    ]);
    expect(h.actor.getSnapshot().context.character!.config.conf_name).toBe('base');
  });

  test('socket.closed during a switch: disconnected (final), the load aborted, zero live actors', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.switch-config', frame: { type: 'switch-config', file: 'a.yaml' } });
    expect(h.census.count()).toBe(5); // session, socket, history writer, request queue, loader
    h.emit({ type: 'socket.closed', code: 1001, reason: '' });
    expect(h.actor.getSnapshot().status).toBe('done');
    expect(h.actor.getSnapshot().value).toBe('disconnected');
    expect(h.loads[0]!.signal.aborted).toBe(true);
    expect(h.census.count()).toBe(0);
  });

  test('requests answer once each, in order; a failing one answers an error; no worker is left', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.fetch-configs', frame: { type: 'fetch-configs' } });
    h.emit({ type: 'client.fetch-backgrounds', frame: { type: 'fetch-backgrounds' } });
    await h.tick();
    expect(h.sent.slice(5)).toEqual([{ type: 'config-files', configs: [] }, { type: 'error', code: 'query_failed', message: 'disk on fire' }]);
    expect(Object.keys(h.actor.getSnapshot().children).sort()).toEqual(['history', 'requests', 'socket', 'toolbox', 'vad']);
    // session, socket, history writer, toolbox (idle: no tools), request queue (idle), voice detection (dormant: no raw audio)
    expect(h.census.count()).toBe(6);
    const children = Object.values(h.actor.getSnapshot().children) as AnyActorRef[];
    expect(children.every((c) => c.getSnapshot().status === 'active')).toBe(true);
  });

  test('a quick request waits for a slow one asked before it: replies leave in arrival order', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.fetch-and-set-history', frame: { type: 'fetch-and-set-history', history_uid: 'h1' } });
    h.emit({ type: 'client.heartbeat', frame: { type: 'heartbeat' } });
    h.emit({ type: 'client.fetch-configs', frame: { type: 'fetch-configs' } });
    h.emit({ type: 'client.request-group-info', frame: { type: 'request-group-info' } });
    await h.tick();
    expect(h.sent.slice(5)).toEqual([]);
    h.historyLoads[0]!.resolve({ frame: { type: 'history-data', messages: [] }, historyUid: 'h1', memory: [] });
    await h.tick();
    expect(h.sent.slice(5).map((f) => f.type)).toEqual(['history-data', 'heartbeat-ack', 'config-files', 'group-update']);
    expect(h.actor.getSnapshot().context.historyUid).toBe('h1');
  });

  test('a request still running when switch-config arrives is stopped, never applied, never answered', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.fetch-and-set-history', frame: { type: 'fetch-and-set-history', history_uid: 'old' } });
    h.emit({ type: 'client.heartbeat', frame: { type: 'heartbeat' } });
    await h.tick();
    h.emit({ type: 'client.switch-config', frame: { type: 'switch-config', file: 'a.yaml' } });
    expect(h.historyLoads[0]!.signal.aborted).toBe(true);
    // The late result has nowhere to land.
    h.historyLoads[0]!.resolve({ frame: { type: 'history-data', messages: [] }, historyUid: 'old', memory: [{ role: 'user', content: 'x' }] });
    h.loads[0]!.resolve(character('a'));
    await h.tick();
    // The heartbeat asked after it needed no work: it is still answered, before the switch's frames.
    expect(h.sent.slice(5).map((f) => f.type)).toEqual(['heartbeat-ack', 'set-model-and-conf', 'config-switched']);
    expect(h.actor.getSnapshot().context.historyUid).toBeNull();
    expect(h.actor.getSnapshot().context.memory).toEqual([]);
  });

  test('a client that floods requests gets an error for each one beyond the bound, the rest in order', async () => {
    const h = harness();
    await h.tick();
    for (const uid of ['a', 'b', 'c', 'd', 'e']) h.emit({ type: 'client.fetch-and-set-history', frame: { type: 'fetch-and-set-history', history_uid: uid } });
    expect(h.sent.slice(5)).toEqual([
      { type: 'error', code: 'too_many_requests', message: '"fetch-and-set-history" was refused: 4 requests are still waiting for their answers; wait for them before asking again' },
    ]);
    for (let i = 0; i < 4; i++) {
      await h.tick();
      h.historyLoads[i]!.resolve({ frame: { type: 'history-data', messages: [] }, historyUid: (h.historyLoads[i]!.request as { historyUid: string }).historyUid });
    }
    await h.tick();
    expect(h.historyLoads.map((l) => (l.request as { historyUid: string }).historyUid)).toEqual(['a', 'b', 'c', 'd']);
    expect(h.sent.slice(6).map((f) => f.type)).toEqual(['history-data', 'history-data', 'history-data', 'history-data']);
    expect(h.actor.getSnapshot().context.historyUid).toBe('d');
  });

  test('every client frame type has a handler at the root: none falls through silently', () => {
    const rootEvents = new Set(sessionMachine.root.transitions.keys());
    const missing = CLIENT_FRAME_TYPES.filter((type) => !rootEvents.has(`client.${type}`));
    expect(missing).toEqual([]);
    expect(rootEvents.has('*')).toBe(false);
  });

  test('during a switch: conversation input is refused as busy; mic audio and raw audio are dropped', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'client.switch-config', frame: { type: 'switch-config', file: 'a.yaml' } });
    h.emit({ type: 'client.text-input', frame: { type: 'text-input', text: 'hi', images: [] } });
    h.emit({ type: 'client.mic-audio-data', frame: { type: 'mic-audio-data', audio: [0.1, 0.2] } });
    h.emit({ type: 'client.raw-audio-data', frame: { type: 'raw-audio-data', audio: [0.1] } });
    h.emit({ type: 'client.ai-speak-signal', frame: { type: 'ai-speak-signal', images: [] } });
    expect(h.sent.slice(5)).toEqual([
      { type: 'error', code: 'busy_switching', message: '"text-input" arrived during a character switch; send it again once the new character is loaded' },
      { type: 'error', code: 'busy_switching', message: '"ai-speak-signal" arrived during a character switch; send it again once the new character is loaded' },
    ]);
    expect(h.actor.getSnapshot().context.mic.samples).toBe(0);
  });

  test('server.shutdown ends the session like a close', async () => {
    const h = harness();
    await h.tick();
    h.emit({ type: 'server.shutdown' } as SessionEvent);
    expect(h.actor.getSnapshot().value).toBe('disconnected');
    expect(h.socketStopped()).toBe(1);
  });
});
