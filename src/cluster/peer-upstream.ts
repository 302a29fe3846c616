import { fromCallback, type EventObject } from 'xstate';
import type { PeerUpstreamInput } from '../../machines/proxy-hub-contract.js';
import type { ClientFrame } from '../protocol/client-frames.js';
import type { Logger } from '../observability/logger.js';
import type { PeerTimes } from './peer-viewer.js';
import { sendMail, type PeerMailEvent } from './proxy-mail.js';
import type { RedisLink } from './redis-link.js';

/**
 * On an instance that does not run the `/proxy-ws` session: the link to the one that does, in the hub's `upstream`
 * slot where the session would be. It joins the owner; the hub's `client.*` events go `up` as frames, what the owner
 * sends `down` comes back as the session's frames (`upstream.frame`), its history uid as `upstream.history`. It pings,
 * and ends (`upstream.ended`, after which the hub links again) when the owner says nothing for `silenceMs` or the hub
 * shuts it down because nobody here watches any more.
 */
export function createPeerUpstream(link: RedisLink, instanceId: string, times: PeerTimes, logger: Logger) {
  return fromCallback<EventObject, PeerUpstreamInput, EventObject>(({ input, receive, sendBack }) => {
    const { owner } = input;
    const log = logger.child({ client_uid: 'proxy:upstream' });
    let heard = Date.now();
    let ended = false;
    const end = (why: string) => {
      if (ended) return;
      ended = true;
      log.info(`cluster: the link to the shared session on instance ${owner} ended (${why})`);
      sendBack({ type: 'upstream.ended' });
    };
    const timer = setInterval(() => {
      if (Date.now() - heard > times.silenceMs) return end(`nothing heard for ${times.silenceMs} ms`);
      sendMail(link, owner, { kind: 'ping-up', from: instanceId });
    }, times.pingMs);
    sendMail(link, owner, { kind: 'join', from: instanceId });
    log.info(`cluster: this instance's viewers watch the shared session on instance ${owner}`);
    receive((event) => {
      if (ended) return;
      if (event.type === 'peer.mail') {
        const { mail } = event as PeerMailEvent;
        // Mail from an earlier owner is not this link's.
        if (mail.from !== owner) return;
        heard = Date.now();
        if (mail.kind === 'down') sendBack({ type: 'upstream.frame', frame: mail.frame });
        else if (mail.kind === 'history') sendBack({ type: 'upstream.history', historyUid: mail.history_uid });
      } else if (event.type === 'server.shutdown') {
        sendMail(link, owner, { kind: 'leave', from: instanceId });
        end('nobody here watches');
      } else if (event.type.startsWith('client.')) {
        sendMail(link, owner, { kind: 'up', from: instanceId, frame: (event as unknown as { frame: ClientFrame }).frame });
      }
    });
    return () => {
      if (!ended) sendMail(link, owner, { kind: 'leave', from: instanceId });
      ended = true;
      clearInterval(timer);
    };
  });
}
