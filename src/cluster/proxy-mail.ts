import { z } from 'zod';
import type { ActorSystem } from 'xstate';
import { PROXY_HUB_SYSTEM_ID } from '../../machines/live-chat-contract.js';
import { PEER_UPSTREAM_SYSTEM_ID, peerViewerSystemId, type ProxyHubEvent } from '../../machines/proxy-hub-contract.js';
import type { Logger } from '../observability/logger.js';
import { clientFrameSchema, type ClientFrame } from '../protocol/client-frames.js';
import type { ServerFrame } from '../protocol/server-frames.js';
import type { RedisLink } from './redis-link.js';
import { publishMail, readMail } from './mail.js';

/**
 * The `/proxy-ws` session across instances: what instances say to each other about it, each on its own Redis
 * channel `vas:proxy:<instance id>` (pub/sub keeps one publisher's messages in order). A follower instance (its
 * `peerUpstream`) joins the owner, sends its viewers' frames `up`, pings, and leaves; the owner (its `peerViewer` for
 * that follower) sends the session's frames `down`, the conversation's history uid, and pings.
 *
 * Each link has an id (the follower's, new at each join), and its frames are numbered on each side: pub/sub drops
 * what is published while a subscriber reconnects, so a side that sees a number missing ends the link, and the
 * follower joins again and gets the connect frames afresh, instead of its viewers silently missing part of a reply.
 * Mail of an earlier link is ignored.
 */
export const proxyChannel = (instanceId: string) => `vas:proxy:${instanceId}`;

const link = { from: z.string(), link: z.string() };
const numbered = { ...link, seq: z.number().int().positive() };
const mailSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('join'), ...link }),
  z.object({ kind: z.literal('leave'), ...link }),
  z.object({ kind: z.literal('ping-up'), ...link }),
  z.object({ kind: z.literal('ping-down'), ...link }),
  z.object({ kind: z.literal('up'), ...numbered, frame: clientFrameSchema }),
  // The owner's session wrote it (an instance of this server); only its shape is checked here.
  z.object({ kind: z.literal('down'), ...numbered, frame: z.looseObject({ type: z.string() }) }),
  z.object({ kind: z.literal('history'), ...numbered, history_uid: z.string().nullable() }),
]);

type Link = { from: string; link: string };
export type ProxyMail =
  | ({ kind: 'join' | 'leave' | 'ping-up' | 'ping-down' } & Link)
  | ({ kind: 'up'; seq: number; frame: ClientFrame } & Link)
  | ({ kind: 'down'; seq: number; frame: ServerFrame } & Link)
  | ({ kind: 'history'; seq: number; history_uid: string | null } & Link);

/** What a peer actor receives: one message from the instance it links to. */
export type PeerMailEvent = { type: 'peer.mail'; mail: ProxyMail };

/** Sends `mail` to `to`; false while Redis does not answer (the peers' pings tell when a link is lost). */
export function sendMail(link: RedisLink, to: string, mail: ProxyMail): boolean {
  return publishMail(link, proxyChannel(to), mail);
}

/**
 * This instance's proxy channel, read: a join goes to the hub (which adds the follower as a viewer), what a follower
 * says to the peer viewer for it, what the owner says to the upstream link. Malformed mail is logged and dropped.
 */
export function proxyMailbox(logger: Logger) {
  return (message: string, system: ActorSystem<any>) => {
    const mail = readMail<ProxyMail>(mailSchema, message, logger, 'proxy');
    if (!mail) return;
    const event: PeerMailEvent = { type: 'peer.mail', mail };
    switch (mail.kind) {
      case 'join':
        // A peer viewer that exists takes the new link first; then the hub greets it (or adds it).
        system.get(peerViewerSystemId(mail.from))?.send(event);
        system.get(PROXY_HUB_SYSTEM_ID)?.send({ type: 'proxy.peerJoined', peer: mail.from, link: mail.link } satisfies ProxyHubEvent);
        return;
      case 'leave':
      case 'ping-up':
      case 'up':
        system.get(peerViewerSystemId(mail.from))?.send(event);
        return;
      default:
        system.get(PEER_UPSTREAM_SYSTEM_ID)?.send(event);
    }
  };
}
