import { createActor, fromCallback, setup, type AnyActorRef, type EventObject } from 'xstate';
import { LOCAL_MODELS_SYSTEM_ID } from '../../machines/local-model-contract.js';
import { serverMachine, type ServerEvent } from '../../machines/server.machine.js';
import type { ClientSocket } from '../../machines/socket-contract.js';
import { TOOL_SERVERS_SYSTEM_ID } from '../../machines/tool-servers.machine.js';

/**
 * machines/server.machine.ts with every child a stand-in that records its input and what it is told: the listener,
 * the sessions, the groups, the proxy hub, the shared tool servers and the local models. A stand-in session or group
 * ends when told `end` (or fails when told `fail`), as the real ones end on their own.
 */

const socket = (remote: string): ClientSocket => ({ kind: 'client', remote, toJSON: () => `[socket ${remote}]` });

function server(input: { proxyEnabled?: boolean } = {}) {
  const log: string[] = [];
  const inputs: Record<string, unknown> = {};
  /** A child that ends when told to: it records its input and every event. */
  const child = (kind: string) =>
    setup({ types: { input: {} as unknown } }).createMachine({
      context: ({ input, self }) => {
        inputs[self.id] = input;
        log.push(`${kind} ${self.id} started`);
        return {};
      },
      initial: 'running',
      states: {
        running: {
          on: {
            end: 'ended',
            fail: { actions: () => { throw new Error(`${kind} failed`); } },
            '*': { actions: ({ self, event }) => log.push(`${self.id} got ${event.type}`) },
          },
        },
        ended: { type: 'final' },
      },
    });
  const service = (kind: string) =>
    fromCallback<EventObject>(({ self, receive }) => {
      log.push(`${kind} ${self.id} started`);
      receive((event) => log.push(`${self.id} got ${event.type}`));
      return () => log.push(`${kind} ${self.id} stopped`);
    });
  const machine = serverMachine.provide({
    actors: {
      httpListener: service('listener') as never,
      session: child('session') as never,
      group: child('group') as never,
      proxyHub: service('proxy') as never,
      toolServers: service('tools') as never,
      localModels: service('models') as never,
      webTool: service('webtool') as never,
      liveChat: service('livechat') as never,
    },
  });
  const actor = createActor(machine, { input }).start();
  const send = (event: ServerEvent) => actor.send(event);
  const kid = (id: string) => actor.getSnapshot().children[id] as AnyActorRef | undefined;
  const children = () => Object.keys(actor.getSnapshot().children).sort();
  return { actor, log, inputs, send, kid, children };
}

describe('the server machine', () => {
  test('serving: the listener, the shared tool servers, the local models and the web tool run, under their system ids', () => {
    const s = server();
    expect(s.actor.getSnapshot().value).toEqual({ serving: 'starting' });
    expect(s.children()).toEqual(['http', 'localModels', 'toolServers', 'webTool']);
    expect(s.actor.system.get(TOOL_SERVERS_SYSTEM_ID)).toBe(s.kid('toolServers'));
    expect(s.actor.system.get(LOCAL_MODELS_SYSTEM_ID)).toBe(s.kid('localModels'));
    s.send({ type: 'http.listening', url: 'http://127.0.0.1:12393', port: 12393 });
    expect(s.actor.getSnapshot().value).toEqual({ serving: 'listening' });
    expect(s.actor.getSnapshot().context).toMatchObject({ url: 'http://127.0.0.1:12393', port: 12393, error: null });
  });

  test('each client is a session, registered as session:<client_uid> and given its socket', () => {
    const s = server();
    const first = socket('a');
    s.send({ type: 'client.connected', clientUid: 'uid-a', socket: first });
    s.send({ type: 'client.connected', clientUid: 'uid-b', socket: socket('b') });
    expect(s.children()).toEqual(['http', 'localModels', 'session.0', 'session.1', 'toolServers', 'webTool']);
    expect(s.actor.system.get('session:uid-a')).toBe(s.kid('session.0'));
    expect(s.actor.system.get('session:uid-b')).toBe(s.kid('session.1'));
    expect(s.inputs['session.0']).toEqual({ clientUid: 'uid-a', socket: first });
    expect(s.actor.getSnapshot().context.sessionsStarted).toBe(2);
  });

  test('a session that ends or fails is released at once, and its child id is used again', () => {
    const s = server();
    s.send({ type: 'client.connected', clientUid: 'uid-a', socket: socket('a') });
    s.send({ type: 'client.connected', clientUid: 'uid-b', socket: socket('b') });
    s.kid('session.0')!.send({ type: 'end' });
    expect(s.children()).toEqual(['http', 'localModels', 'session.1', 'toolServers', 'webTool']);
    expect(s.actor.system.get('session:uid-a')).toBeUndefined();
    s.kid('session.1')!.send({ type: 'fail' });
    expect(s.children()).toEqual(['http', 'localModels', 'toolServers', 'webTool']);
    s.send({ type: 'client.connected', clientUid: 'uid-c', socket: socket('c') });
    expect(s.children()).toEqual(['http', 'localModels', 'session.0', 'toolServers', 'webTool']);
    expect(s.actor.system.get('session:uid-c')).toBe(s.kid('session.0'));
    expect(s.actor.getSnapshot().context.sessionsStarted).toBe(3);
  });

  test('a group is created on request, as group.<n>, with its owner and first invitee; released when it closes', () => {
    const s = server();
    s.send({ type: 'client.connected', clientUid: 'uid-a', socket: socket('a') });
    const owner = { uid: 'uid-a', ref: s.kid('session.0')! };
    s.send({ type: 'group.create', owner, inviteeUid: 'uid-b', rules: { invite: 'any', maxMembers: 8, rounds: 1 } });
    s.send({ type: 'group.create', owner: { uid: 'uid-x', ref: owner.ref }, inviteeUid: 'uid-y', rules: { invite: 'owner', maxMembers: 3, rounds: 2 } });
    expect(s.children()).toEqual(['group.0', 'group.1', 'http', 'localModels', 'session.0', 'toolServers', 'webTool']);
    // Without a cluster the group keeps no record in Redis.
    expect(s.inputs['group.0']).toEqual({ id: 'group_uid-a', owner, firstInvitee: 'uid-b', rules: { invite: 'any', maxMembers: 8, rounds: 1 }, shared: false });
    expect(s.inputs['group.1']).toMatchObject({ id: 'group_uid-x', firstInvitee: 'uid-y', rules: { invite: 'owner', maxMembers: 3, rounds: 2 } });
    s.kid('group.0')!.send({ type: 'end' });
    expect(s.children()).toEqual(['group.1', 'http', 'localModels', 'session.0', 'toolServers', 'webTool']);
    s.send({ type: 'group.create', owner, inviteeUid: 'uid-c', rules: { invite: 'any', maxMembers: 8, rounds: 1 } });
    expect(s.children()).toContain('group.0');
  });

  test('the proxy hub runs only when enabled; viewers\' sockets go to it', () => {
    const off = server();
    off.send({ type: 'proxy.connected', socket: socket('viewer') });
    expect(off.children()).not.toContain('proxy');
    expect(off.log.filter((l) => l.includes('proxy'))).toEqual([]);

    const on = server({ proxyEnabled: true });
    expect(on.children()).toContain('proxy');
    on.send({ type: 'proxy.connected', socket: socket('viewer') });
    expect(on.log).toContain('proxy got proxy.connected');
  });

  test('server.stop: every session is told to shut down, and everything the server runs is stopped', () => {
    const s = server({ proxyEnabled: true });
    s.send({ type: 'client.connected', clientUid: 'uid-a', socket: socket('a') });
    s.send({ type: 'client.connected', clientUid: 'uid-b', socket: socket('b') });
    const sessions = [s.kid('session.0')!, s.kid('session.1')!];
    s.log.length = 0;
    s.send({ type: 'server.stop' });
    expect(s.actor.getSnapshot().value).toBe('stopped');
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.log.filter((l) => l.includes('server.shutdown'))).toEqual(['session.0 got server.shutdown', 'session.1 got server.shutdown']);
    expect(s.log.filter((l) => l.endsWith('stopped')).sort()).toEqual(['listener http stopped', 'models localModels stopped', 'proxy proxy stopped', 'tools toolServers stopped', 'webtool webTool stopped']);
    expect(sessions.map((ref) => ref.getSnapshot().status)).toEqual(['stopped', 'stopped']);
  });

  test('a listener that cannot listen: failed, with why', () => {
    const s = server();
    s.send({ type: 'http.failed', message: 'listen EADDRINUSE: address already in use 127.0.0.1:12393' });
    expect(s.actor.getSnapshot().value).toBe('failed');
    expect(s.actor.getSnapshot().context.error).toBe('listen EADDRINUSE: address already in use 127.0.0.1:12393');
    expect(s.log.filter((l) => l.endsWith('stopped')).sort()).toEqual(['listener http stopped', 'models localModels stopped', 'tools toolServers stopped', 'webtool webTool stopped']);
  });
});
