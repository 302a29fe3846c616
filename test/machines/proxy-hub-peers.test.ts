import { createActor, fromCallback, raise, setup, SimulatedClock, type AnyActorRef, type EventObject } from 'xstate';
import { LIVE_CHAT_SYSTEM_ID } from '../../machines/live-chat-contract.js';
import { proxyHubMachine } from '../../machines/proxy-hub.machine.js';
import type { PeerUpstreamInput, PeerViewerInput, ViewerCommand, ViewerInput } from '../../machines/proxy-hub-contract.js';
import type { ClientSocket } from '../../machines/socket-contract.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { ProxyLink } from '../../src/proxy/proxy-link.js';

/**
 * machines/proxy-hub-peers.ts: the hub of one instance among several (SimulatedClock). Who runs the session is told
 * as the lease tells it (`proxy.owner`); the session, the viewers, the other instances' viewers (`peerViewer`) and
 * the link to another owner (`peerUpstream`) are fakes that record what they are sent. The real thing over Redis,
 * between processes, is test/cluster/proxy-across.test.ts.
 */

const ME = 'inst-a';

function runClusteredHub() {
  const toViewers: Record<string, Array<ServerFrame | { history: string | null }>> = {};
  const sessions: Array<{ uid: string; told: string[]; stopped: boolean }> = [];
  const upstreams: Array<{ owner: string; told: EventObject[]; stopped: boolean; say: (e: { type: string; [key: string]: unknown }) => void }> = [];
  // A stand-in for the session: it says which character it runs, records what it is told, and notes being stopped.
  const session = fromCallback<EventObject, { clientUid: string; socket: ProxyLink }>(({ input, receive }) => {
    const record = { uid: input.clientUid, told: [] as string[], stopped: false };
    sessions.push(record);
    queueMicrotask(() => input.socket.hub.send({ type: 'upstream.frame', frame: { type: 'set-model-and-conf', model_info: {} as never, conf_name: 'c', conf_uid: 'c1', client_uid: input.clientUid } }));
    receive((event) => {
      const uid = (event as unknown as { frame?: { history_uid?: string } }).frame?.history_uid;
      record.told.push(uid ? `${event.type} ${uid}` : event.type);
    });
    return () => (record.stopped = true);
  });
  type Got = Array<ServerFrame | { history: string | null }>;
  const record = (id: string): Got => (toViewers[id] = []);
  const viewer = fromCallback<ViewerCommand, ViewerInput>(({ input, receive }) => {
    const got = record(input.viewerId);
    receive((c) => got.push(c.type === 'viewer.send' ? c.frame : { history: c.historyUid }));
  });
  const peerViewer = fromCallback<EventObject, PeerViewerInput>(({ input, receive }) => {
    const got = record(input.viewerId);
    receive((e) => {
      const c = e as ViewerCommand;
      got.push(c.type === 'viewer.send' ? c.frame : { history: c.historyUid });
    });
  });
  const peerUpstream = fromCallback<EventObject, PeerUpstreamInput>(({ input, receive, sendBack }) => {
    const up = { owner: input.owner, told: [] as EventObject[], stopped: false, say: (e: { type: string; [key: string]: unknown }) => sendBack(e) };
    upstreams.push(up);
    receive((e) => up.told.push(e));
    return () => (up.stopped = true);
  });
  let links = 0;
  const hub = proxyHubMachine.provide({
    actors: { session: session as never, viewer, peerViewer, peerUpstream },
    actions: { newUpstream: raise(({ self }) => ({ type: 'upstream.link', uid: `proxy-${++links}`, link: new ProxyLink(self) })) },
  });
  const acks: string[] = [];
  const liveChat = fromCallback<EventObject>(({ receive }) => receive((e) => acks.push((e as unknown as { outcome: string }).outcome)));
  const root = setup({ actors: { hub, liveChat } }).createMachine({
    invoke: [
      { id: 'hub', src: 'hub', input: { instanceId: ME } },
      { src: 'liveChat', systemId: LIVE_CHAT_SYSTEM_ID },
    ],
  });
  const actor = createActor(root, { clock: new SimulatedClock() }).start();
  const ref = actor.getSnapshot().children.hub as AnyActorRef;
  const socket: ClientSocket = { kind: 'client', remote: 'test', toJSON: () => '[socket]' };
  return {
    ref,
    acks,
    toViewers,
    sessions,
    upstreams,
    send: (e: { type: string; [key: string]: unknown }) => ref.send(e),
    connect: () => ref.send({ type: 'proxy.connected', socket }),
    children: () => Object.keys(ref.getSnapshot().children).sort(),
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const typesOf = (frames: Array<ServerFrame | { history: string | null }> | undefined) => (frames ?? []).map((f) => ('type' in f ? (f.type === 'error' ? `error:${f.code}` : f.type) : `history:${f.history}`));

describe('the proxy hub among instances', () => {
  test('nobody holds the lease: no session starts, a request is answered cluster_unavailable; the lease taken here starts it', async () => {
    const hub = runClusteredHub();
    hub.connect();
    await flush();
    expect(hub.sessions).toHaveLength(0);
    hub.send({ type: 'viewer.frame', viewerId: 'viewer.0', frame: { type: 'fetch-history-list' } });
    expect(typesOf(hub.toViewers['viewer.0'])).toEqual(['error:cluster_unavailable']);
    hub.send({ type: 'proxy.owner', owner: ME });
    await flush();
    expect(hub.sessions.map((s) => s.uid)).toEqual(['proxy-1']);
    expect(typesOf(hub.toViewers['viewer.0']).at(-1)).toBe('set-model-and-conf');
  });

  test('stepping down stops the session at once, lets the other instances\' viewers go, and tells the viewers here', async () => {
    const hub = runClusteredHub();
    hub.send({ type: 'proxy.owner', owner: ME });
    hub.connect();
    hub.send({ type: 'proxy.peerJoined', peer: 'inst-b' });
    await flush();
    expect(hub.children()).toEqual(['peer.inst-b', 'upstream', 'viewer.0']);
    hub.send({ type: 'proxy.owner', owner: null });
    expect(hub.sessions[0]!.stopped).toBe(true);
    expect(hub.children()).toEqual(['viewer.0']);
    expect(typesOf(hub.toViewers['viewer.0']).at(-1)).toBe('error:cluster_unavailable');
  });

  test('the owner: another instance joins as one viewer, gets the connect frames and the history uid, and its input is queued like any', async () => {
    const hub = runClusteredHub();
    hub.send({ type: 'proxy.owner', owner: ME });
    hub.connect();
    await flush();
    hub.send({ type: 'viewer.frame', viewerId: 'viewer.0', frame: { type: 'fetch-and-set-history', history_uid: 'h1' } });
    hub.send({ type: 'proxy.peerJoined', peer: 'inst-b' });
    expect(typesOf(hub.toViewers['peer.inst-b'])).toEqual(['group-update', 'full-text', 'set-model-and-conf', 'group-update', 'control', 'history:h1']);
    hub.send({ type: 'viewer.frame', viewerId: 'peer.inst-b', frame: { type: 'text-input', text: 'from b', images: [] } });
    expect(hub.sessions[0]!.told).toEqual(['client.fetch-and-set-history h1', 'client.text-input']);
    expect(hub.toViewers['viewer.0']!.at(-1)).toEqual({ type: 'user-input-transcription', text: 'from b' });
    // A new history here is told to the other instances.
    hub.send({ type: 'upstream.frame', frame: { type: 'new-history-created', history_uid: 'h2' } });
    expect(hub.toViewers['peer.inst-b']!.at(-1)).toEqual({ history: 'h2' });
  });

  test('a follower links to the owner; on taking over, it runs the session itself and continues the history it heard of', async () => {
    const hub = runClusteredHub();
    hub.send({ type: 'proxy.owner', owner: 'inst-b' });
    hub.connect();
    await flush();
    expect(hub.sessions).toHaveLength(0);
    const [link] = hub.upstreams;
    expect(link!.owner).toBe('inst-b');
    link!.say({ type: 'upstream.frame', frame: { type: 'set-model-and-conf', model_info: {} as never, conf_name: 'c', conf_uid: 'c1', client_uid: 'proxy-on-b' } });
    link!.say({ type: 'upstream.history', historyUid: 'h7' });
    hub.send({ type: 'viewer.frame', viewerId: 'viewer.0', frame: { type: 'text-input', text: 'hi', images: [] } });
    expect(link!.told.map((e) => e.type)).toEqual(['client.text-input']);
    // The owner is gone; this instance holds the lease now.
    hub.send({ type: 'proxy.owner', owner: ME });
    await flush();
    expect(link!.stopped).toBe(true);
    expect(hub.sessions).toHaveLength(1);
    expect(hub.sessions[0]!.told[0]).toBe('client.fetch-and-set-history h7');
  });

  test('a live-stream chat message is left to the owner\'s own live chat when another instance runs the session', async () => {
    const hub = runClusteredHub();
    hub.send({ type: 'proxy.owner', owner: 'inst-b' });
    hub.connect();
    await flush();
    hub.send({ type: 'live.input', text: 'hello from chat' });
    expect(hub.upstreams[0]!.told).toEqual([]);
    expect(hub.acks).toEqual(['elsewhere']);
  });
});
