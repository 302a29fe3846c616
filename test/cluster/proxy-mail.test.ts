import { createActor, fromCallback, setup, type EventObject } from 'xstate';
import { PROXY_HUB_SYSTEM_ID } from '../../machines/live-chat-contract.js';
import { PEER_UPSTREAM_SYSTEM_ID, peerViewerSystemId } from '../../machines/proxy-hub-contract.js';
import { createPeerUpstream } from '../../src/cluster/peer-upstream.js';
import { createPeerViewer } from '../../src/cluster/peer-viewer.js';
import { proxyMailbox, type ProxyMail } from '../../src/cluster/proxy-mail.js';
import { ClusterUnavailable, type RedisLink } from '../../src/cluster/redis-link.js';
import { recordingLogger } from '../helpers/recording-logger.js';

/**
 * The mail between instances about the shared `/proxy-ws` session (src/cluster/proxy-mail.ts) and the two ends of a
 * link (peer-upstream.ts on a follower, peer-viewer.ts on the owner), without Redis: what they publish is recorded,
 * and what arrives is handed to the mailbox as the subscriber would. Between real processes over a real Redis:
 * proxy-across.test.ts.
 */

function rig() {
  const published: Array<{ channel: string; mail: ProxyMail }> = [];
  const redis = { up: true };
  const link = {
    ready: () => {
      if (!redis.up) throw new ClusterUnavailable('Redis is not connected');
      return { publish: async (channel: string, message: string) => void published.push({ channel, mail: JSON.parse(message) as ProxyMail }) };
    },
  } as unknown as RedisLink;
  const { logger, lines, line } = recordingLogger();
  const times = { pingMs: 1e6, silenceMs: 2e6 };
  const toHub: EventObject[] = [];
  const fromChildren: EventObject[] = [];
  const hub = fromCallback<EventObject>(({ receive }) => receive((e) => toHub.push(e)));
  const root = setup({
    actors: { hub, upstream: createPeerUpstream(link, 'inst-b', times, logger), viewer: createPeerViewer(link, 'inst-a', times, logger) },
  }).createMachine({
    invoke: [
      { src: 'hub', systemId: PROXY_HUB_SYSTEM_ID },
      { id: 'upstream', src: 'upstream', systemId: PEER_UPSTREAM_SYSTEM_ID, input: { owner: 'inst-a' } },
      { id: 'viewer', src: 'viewer', systemId: peerViewerSystemId('inst-b'), input: { viewerId: 'peer.inst-b', peer: 'inst-b', link: 'l-1' } },
    ],
    on: { '*': { actions: ({ event }) => fromChildren.push(event) } },
  });
  const actor = createActor(root).start();
  const mailbox = proxyMailbox(logger);
  const deliver = (mail: unknown) => mailbox(JSON.stringify(mail), actor.system);
  return { actor, published, redis, lines, line, toHub, fromChildren, deliver };
}

const frame = { type: 'full-text', text: 'hi' };

describe('proxy mail between instances', () => {
  test('a follower joins with a link id; the owner\'s numbered frames come back in order; an earlier link\'s are ignored', () => {
    const r = rig();
    const join = r.published.find((p) => p.mail.kind === 'join')!;
    expect(join.channel).toBe('vas:proxy:inst-a');
    const id = join.mail.link;
    r.deliver({ kind: 'down', from: 'inst-a', link: 'an-old-link', seq: 7, frame });
    r.deliver({ kind: 'down', from: 'inst-a', link: id, seq: 1, frame });
    r.deliver({ kind: 'history', from: 'inst-a', link: id, seq: 2, history_uid: 'h1' });
    expect(r.fromChildren.map((e) => e.type)).toEqual(['upstream.frame', 'upstream.history']);
    r.actor.stop();
  });

  test('a frame from the owner that went missing ends the link (the hub links again), instead of a viewer missing part of a reply', async () => {
    const r = rig();
    const id = r.published.find((p) => p.mail.kind === 'join')!.mail.link;
    r.deliver({ kind: 'down', from: 'inst-a', link: id, seq: 1, frame });
    r.deliver({ kind: 'down', from: 'inst-a', link: id, seq: 3, frame });
    r.deliver({ kind: 'down', from: 'inst-a', link: id, seq: 4, frame });
    expect(r.fromChildren.map((e) => e.type)).toEqual(['upstream.frame', 'upstream.ended']);
    await r.line(/frames 2–2 from it went missing/, 5000);
    r.actor.stop();
  });

  test('what the hub sends up is numbered; with Redis away the viewers here are told it did not go', () => {
    const r = rig();
    const upstream = r.actor.getSnapshot().children.upstream!;
    const say = (text: string) => upstream.send({ type: 'client.text-input', frame: { type: 'text-input', text, images: [] } } as EventObject);
    say('one');
    say('two');
    expect(r.published.filter((p) => p.mail.kind === 'up').map((p) => (p.mail as { seq: number }).seq)).toEqual([1, 2]);
    r.redis.up = false;
    say('three');
    const told = r.fromChildren.at(-1) as { type: string; frame?: { code?: string } };
    expect([told.type, told.frame?.code]).toEqual(['upstream.frame', 'cluster_unavailable']);
    r.actor.stop();
  });

  test('the owner side: a join goes to the hub; a new link restarts the numbering; a gap from the follower closes the viewer', () => {
    const r = rig();
    r.deliver({ kind: 'join', from: 'inst-b', link: 'l-2' });
    expect(r.toHub).toEqual([{ type: 'proxy.peerJoined', peer: 'inst-b', link: 'l-2' }]);
    r.deliver({ kind: 'up', from: 'inst-b', link: 'l-1', seq: 1, frame: { type: 'heartbeat' } });
    r.deliver({ kind: 'up', from: 'inst-b', link: 'l-2', seq: 1, frame: { type: 'heartbeat' } });
    r.deliver({ kind: 'up', from: 'inst-b', link: 'l-2', seq: 3, frame: { type: 'heartbeat' } });
    expect(r.fromChildren.filter((e) => e.type.startsWith('viewer.')).map((e) => e.type)).toEqual(['viewer.frame', 'viewer.closed']);
    r.actor.stop();
  });

  test('mail that is not what this server sends is logged and dropped', async () => {
    const r = rig();
    r.deliver({ kind: 'up', from: 'inst-b', link: 'l-1', seq: 1, frame: { type: 'no-such-frame' } });
    r.deliver({ kind: 'shout', from: 'x' });
    expect(r.fromChildren.filter((e) => e.type.startsWith('viewer.'))).toHaveLength(0);
    await r.line(/dropped a proxy message/, 5000);
    await r.line(/dropped a proxy message/, 5000, r.lines.findIndex((l) => l.includes('dropped a proxy message')) + 1);
    r.actor.stop();
  });
});
