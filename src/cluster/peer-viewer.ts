import { fromCallback, type EventObject } from 'xstate';
import type { PeerViewerInput, ViewerCommand } from '../../machines/proxy-hub-contract.js';
import type { Logger } from '../observability/logger.js';
import { sendMail, type PeerMailEvent } from './proxy-mail.js';
import type { RedisLink } from './redis-link.js';
import { heartbeat, type PeerTimes } from './heartbeat.js';

/**
 * On the instance that runs the `/proxy-ws` session: another instance's viewers, as one of the hub's viewers. What
 * the hub sends them goes `down` to that instance, numbered; what it sends `up` comes to the hub as this viewer's
 * frames. It pings, and closes (`viewer.closed`) when the other instance leaves, says nothing for `silenceMs`, or
 * a numbered frame from it went missing. A new join from that instance (a new link) starts the numbering again.
 */
export function createPeerViewer(link: RedisLink, instanceId: string, times: PeerTimes, logger: Logger) {
  return fromCallback<EventObject, PeerViewerInput, EventObject>(({ input, receive, sendBack }) => {
    const { peer, viewerId } = input;
    const log = logger.child({ client_uid: `proxy:${viewerId}` });
    const state = { link: input.link, sent: 0, heard: 0, closed: false };
    const close = (why: string) => {
      if (state.closed) return;
      state.closed = true;
      log.info(`cluster: the viewers on instance ${peer} left the shared session (${why})`);
      sendBack({ type: 'viewer.closed', viewerId });
    };
    const beat = heartbeat(times, () => sendMail(link, peer, { kind: 'ping-down', from: instanceId, link: state.link }), close);
    log.info(`cluster: the viewers on instance ${peer} joined the shared session run here`);
    receive((received) => {
      const event = received as ViewerCommand | PeerMailEvent;
      if (state.closed) return;
      if (event.type === 'viewer.send') sendMail(link, peer, { kind: 'down', from: instanceId, link: state.link, seq: ++state.sent, frame: event.frame });
      else if (event.type === 'viewer.history') sendMail(link, peer, { kind: 'history', from: instanceId, link: state.link, seq: ++state.sent, history_uid: event.historyUid });
      else if (event.type === 'peer.mail') {
        const { mail } = event;
        if (mail.kind === 'join') Object.assign(state, { link: mail.link, sent: 0, heard: 0 });
        if (mail.link !== state.link) return;
        beat.heard();
        if (mail.kind === 'leave') close('they left');
        else if (mail.kind === 'up') {
          if (mail.seq !== state.heard + 1) return close(`frames ${state.heard + 1}–${mail.seq - 1} from them went missing`);
          state.heard = mail.seq;
          sendBack({ type: 'viewer.frame', viewerId, frame: mail.frame });
        }
      }
    });
    return () => {
      state.closed = true;
      beat.stop();
    };
  });
}
