import { createActor, fromCallback, raise, SimulatedClock, type AnyActorLogic, type EventObject } from 'xstate';
import { proxyHubMachine } from '../../machines/proxy-hub.machine.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { ProxyLink } from '../../src/proxy/proxy-link.js';
import type { SocketHandle } from '../../src/server/socket-handle.js';

/**
 * Issue 11 §8, the hub alone (fake session and viewers, SimulatedClock): one viewer request in flight at a time; an
 * answer goes to whoever asked; a request the session never answers is bounded (`requestBound`).
 */
function runHub(answer: (event: EventObject, reply: (frame: ServerFrame) => void) => void) {
  const toSession: string[] = [];
  const toViewers: Record<string, ServerFrame[]> = {};
  const session = fromCallback<EventObject, { clientUid: string; socket: ProxyLink }>(({ input, receive }) => {
    const reply = (frame: ServerFrame) => input.socket.hub.send({ type: 'upstream.frame', frame });
    queueMicrotask(() =>
      reply({ type: 'set-model-and-conf', model_info: {} as never, conf_name: 'c', conf_uid: 'c1', client_uid: input.clientUid }),
    );
    receive((event) => {
      toSession.push(event.type);
      answer(event, reply);
    });
  });
  const viewer = fromCallback<{ type: 'viewer.send'; frame: ServerFrame }, { viewerId: string }>(({ input, receive }) => {
    toViewers[input.viewerId] = [];
    receive((command) => toViewers[input.viewerId]!.push(command.frame));
  });
  let sessions = 0;
  const hub = proxyHubMachine.provide({
    actors: { session: session as unknown as AnyActorLogic, viewer } as never,
    actions: { newUpstream: raise(({ self }) => ({ type: 'upstream.link', uid: `proxy-${++sessions}`, link: new ProxyLink(self) })) },
    delays: { requestBound: 15_000 },
  });
  const clock = new SimulatedClock();
  const actor = createActor(hub, { clock }).start();
  const socket = {} as SocketHandle;
  return { actor, clock, toSession, toViewers, connect: () => actor.send({ type: 'proxy.connected', socket }) };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const types = (frames: ServerFrame[] | undefined) => (frames ?? []).filter((f) => f.type !== 'set-model-and-conf').map((f) => (f.type === 'error' ? `error:${f.code}` : f.type));

test('a request the session never answers: the viewer gets a proxy error at the bound, and the next request goes', async () => {
  const hub = runHub((event, reply) => {
    // The session answers history lists, never configs.
    if (event.type === 'client.fetch-history-list') reply({ type: 'history-list', histories: [] });
  });
  hub.connect();
  hub.connect();
  await flush();
  hub.actor.send({ type: 'viewer.frame', viewerId: 'viewer.0', frame: { type: 'fetch-configs' } });
  hub.actor.send({ type: 'viewer.frame', viewerId: 'viewer.1', frame: { type: 'fetch-history-list' } });
  await flush();
  expect(hub.toSession).toEqual(['client.fetch-configs']);
  hub.clock.increment(14_999);
  await flush();
  expect(types(hub.toViewers['viewer.0'])).toEqual([]);
  hub.clock.increment(1);
  await flush();
  expect(types(hub.toViewers['viewer.0'])).toEqual(['error:proxy']);
  expect(hub.toSession).toEqual(['client.fetch-configs', 'client.fetch-history-list']);
  expect(types(hub.toViewers['viewer.1'])).toEqual(['history-list']);
});

test('a failed request is answered to its viewer with its error; a later reply of that type reaches its own viewer', async () => {
  let failNext = true;
  const hub = runHub((event, reply) => {
    if (event.type !== 'client.fetch-and-set-history') return;
    if (failNext) {
      failNext = false;
      reply({ type: 'error', code: 'query_failed', message: 'no such history' });
    } else reply({ type: 'history-data', messages: [] });
  });
  hub.connect();
  hub.connect();
  await flush();
  hub.actor.send({ type: 'viewer.frame', viewerId: 'viewer.0', frame: { type: 'fetch-and-set-history', history_uid: 'missing' } });
  hub.actor.send({ type: 'viewer.frame', viewerId: 'viewer.1', frame: { type: 'fetch-and-set-history', history_uid: 'there' } });
  await flush();
  expect(types(hub.toViewers['viewer.0'])).toEqual(['error:query_failed']);
  expect(types(hub.toViewers['viewer.1'])).toEqual(['history-data']);
  // Nothing was left pending: the bound passing later sends nobody anything.
  hub.clock.increment(60_000);
  await flush();
  expect(types(hub.toViewers['viewer.0'])).toEqual(['error:query_failed']);
  expect(types(hub.toViewers['viewer.1'])).toEqual(['history-data']);
});
