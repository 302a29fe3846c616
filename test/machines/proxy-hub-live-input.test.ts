import { createActor, fromCallback, raise, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import { LIVE_CHAT_SYSTEM_ID, PROXY_HUB_SYSTEM_ID } from '../../machines/live-chat-contract.js';
import { proxyHubMachine, type ViewerCommand, type ViewerInput } from '../../machines/proxy-hub.machine.js';
import type { ClientSocket } from '../../machines/socket-contract.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { ProxyLink } from '../../src/proxy/proxy-link.js';

/**
 * The proxy hub's side of live-stream chat (machines/proxy-hub.machine.ts): a `live.input` joins the viewers' queue
 * as a text-input said by nobody among them, and the live chat is told `released` when it goes to the session, or
 * `unheard` when nobody watches. A fake shared session and a fake live chat beside the hub, as in the server.
 */

function runHub() {
  const toSession: string[] = [];
  const acks: string[] = [];
  const toViewers: Record<string, ServerFrame[]> = {};
  let reply: (frame: ServerFrame) => void = () => undefined;
  const session = setup({ types: { input: {} as { clientUid: string; socket: ProxyLink } } }).createMachine({
    context: ({ input }) => {
      reply = (frame) => input.socket.hub.send({ type: 'upstream.frame', frame });
      queueMicrotask(() => reply({ type: 'set-model-and-conf', model_info: {} as never, conf_name: 'c', conf_uid: 'c1', client_uid: input.clientUid }));
      return {};
    },
    initial: 'running',
    states: {
      running: {
        on: {
          'server.shutdown': 'ended',
          '*': { actions: ({ event }) => toSession.push(`${event.type} ${(event as { frame?: { text?: string } }).frame?.text ?? ''}`.trim()) },
        },
      },
      ended: { type: 'final' },
    },
  });
  const viewer = fromCallback<ViewerCommand, ViewerInput>(({ input, receive }) => {
    toViewers[input.viewerId] = [];
    receive((command) => command.type === 'viewer.send' && toViewers[input.viewerId]!.push(command.frame));
  });
  const hub = proxyHubMachine.provide({
    actors: { session: session as never, viewer },
    actions: { newUpstream: raise(({ self }) => ({ type: 'upstream.link', uid: 'proxy-1', link: new ProxyLink(self) })) },
  });
  const liveChat = fromCallback<EventObject>(({ receive }) => {
    receive((event) => acks.push((event as { type: string; outcome: string }).outcome));
  });
  const root = setup({ actors: { hub, liveChat } }).createMachine({
    invoke: [
      { src: 'hub', input: {}, systemId: PROXY_HUB_SYSTEM_ID },
      { src: 'liveChat', systemId: LIVE_CHAT_SYSTEM_ID },
    ],
  });
  const actor = createActor(root, { clock: new SimulatedClock() }).start();
  const hubRef = actor.system.get(PROXY_HUB_SYSTEM_ID) as AnyActorRef;
  const socket: ClientSocket = { kind: 'client', remote: 'test', toJSON: () => '[socket]' };
  return {
    toSession,
    acks,
    toViewers,
    say: (frame: ServerFrame) => reply(frame),
    connect: () => hubRef.send({ type: 'proxy.connected', socket }),
    leave: (viewerId: string) => hubRef.send({ type: 'viewer.closed', viewerId }),
    live: (text: string) => hubRef.send({ type: 'live.input', text }),
    text: (viewerId: string, text: string) => hubRef.send({ type: 'viewer.frame', viewerId, frame: { type: 'text-input', text, images: [] } }),
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const CHAIN_START: ServerFrame = { type: 'control', text: 'conversation-chain-start' };
const CHAIN_END: ServerFrame = { type: 'control', text: 'conversation-chain-end' };

describe('the proxy hub takes live-stream chat', () => {
  test('a chat message waits its turn in the viewers\' queue; released, every viewer sees it and the live chat hears so', async () => {
    const hub = runHub();
    hub.connect();
    hub.connect();
    await flush();
    hub.text('viewer.0', 'from a viewer');
    hub.live('from the chat');
    expect(hub.toSession).toEqual(['client.text-input from a viewer']);
    expect(hub.acks).toEqual([]);
    hub.say(CHAIN_START);
    hub.say(CHAIN_END);
    expect(hub.toSession).toEqual(['client.text-input from a viewer', 'client.text-input from the chat']);
    expect(hub.acks).toEqual(['released']);
    for (const id of ['viewer.0', 'viewer.1']) {
      expect(hub.toViewers[id]!.filter((f) => f.type === 'user-input-transcription').at(-1)).toEqual({ type: 'user-input-transcription', text: 'from the chat' });
    }
  });

  test('nobody watching: refused at once as unheard, and the session is not started for it', async () => {
    const hub = runHub();
    hub.live('into the void');
    await flush();
    expect(hub.acks).toEqual(['unheard']);
    expect(hub.toSession).toEqual([]);
  });

  test('a chat message still queued when the last viewer leaves is unheard', async () => {
    const hub = runHub();
    hub.connect();
    await flush();
    hub.text('viewer.0', 'long question');
    hub.live('queued chat');
    hub.leave('viewer.0');
    await flush();
    expect(hub.acks).toEqual(['unheard']);
    expect(hub.toSession.filter((e) => e.includes('queued chat'))).toEqual([]);
  });
});
