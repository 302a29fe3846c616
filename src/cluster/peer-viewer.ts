import { fromCallback, type EventObject } from 'xstate';
import type { PeerViewerInput, ViewerCommand } from '../../machines/proxy-hub-contract.js';
import type { Logger } from '../observability/logger.js';
import { sendMail, type PeerMailEvent } from './proxy-mail.js';
import type { RedisLink } from './redis-link.js';

export interface PeerTimes {
  /** How often each side of a link says it is there. */
  pingMs: number;
  /** A link whose other side said nothing for this long is ended. */
  silenceMs: number;
}

/**
 * On the instance that runs the `/proxy-ws` session: another instance's viewers, as one of the hub's viewers. What
 * the hub sends them goes `down` to that instance; what it sends `up` comes to the hub as this viewer's frames. It
 * pings, and closes (`viewer.closed`) when the other instance leaves or says nothing for `silenceMs`.
 */
export function createPeerViewer(link: RedisLink, instanceId: string, times: PeerTimes, logger: Logger) {
  return fromCallback<EventObject, PeerViewerInput, EventObject>(({ input, receive, sendBack }) => {
    const { peer, viewerId } = input;
    const log = logger.child({ client_uid: `proxy:${viewerId}` });
    let heard = Date.now();
    let closed = false;
    const close = (why: string) => {
      if (closed) return;
      closed = true;
      log.info(`cluster: the viewers on instance ${peer} left the shared session (${why})`);
      sendBack({ type: 'viewer.closed', viewerId });
    };
    const timer = setInterval(() => {
      if (Date.now() - heard > times.silenceMs) return close(`nothing heard for ${times.silenceMs} ms`);
      sendMail(link, peer, { kind: 'ping-down', from: instanceId });
    }, times.pingMs);
    log.info(`cluster: the viewers on instance ${peer} joined the shared session run here`);
    receive((received) => {
      const event = received as ViewerCommand | PeerMailEvent;
      if (closed) return;
      if (event.type === 'viewer.send') sendMail(link, peer, { kind: 'down', from: instanceId, frame: event.frame });
      else if (event.type === 'viewer.history') sendMail(link, peer, { kind: 'history', from: instanceId, history_uid: event.historyUid });
      else if (event.type === 'peer.mail') {
        heard = Date.now();
        const { mail } = event;
        if (mail.kind === 'up') sendBack({ type: 'viewer.frame', viewerId, frame: mail.frame });
        else if (mail.kind === 'leave') close('they left');
      }
    });
    return () => {
      closed = true;
      clearInterval(timer);
    };
  });
}
