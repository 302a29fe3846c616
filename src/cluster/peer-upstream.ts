import { randomUUID } from 'node:crypto';
import { fromCallback, type EventObject } from 'xstate';
import type { PeerUpstreamInput } from '../../machines/proxy-hub-contract.js';
import type { ClientFrame } from '../protocol/client-frames.js';
import { errorFrame } from '../protocol/error-codes.js';
import type { Logger } from '../observability/logger.js';
import { heartbeat, type PeerTimes } from './heartbeat.js';
import { sendMail, type PeerMailEvent } from './proxy-mail.js';
import type { RedisLink } from './redis-link.js';

/**
 * On an instance that does not run the `/proxy-ws` session: the link to the one that does, in the hub's `upstream`
 * slot where the session would be. It joins the owner with a new link id; the hub's `client.*` events go `up` as
 * numbered frames, what the owner sends `down` comes back as the session's frames (`upstream.frame`), its history
 * uid as `upstream.history`. It pings, and ends (`upstream.ended`, after which the hub links again) when the owner
 * says nothing for `silenceMs`, a numbered frame from it went missing, or the hub shuts it down because nobody here
 * watches any more. A frame that cannot be sent (Redis away) is answered to the viewers here with an error.
 */
export function createPeerUpstream(link: RedisLink, instanceId: string, times: PeerTimes, logger: Logger) {
  return fromCallback<EventObject, PeerUpstreamInput, EventObject>(({ input, receive, sendBack }) => {
    const { owner } = input;
    const id = randomUUID();
    const log = logger.child({ client_uid: 'proxy:upstream' });
    const state = { sent: 0, heard: 0, ended: false };
    const end = (why: string) => {
      if (state.ended) return;
      state.ended = true;
      log.info(`cluster: the link to the shared session on instance ${owner} ended (${why})`);
      sendBack({ type: 'upstream.ended' });
    };
    const beat = heartbeat(times, () => sendMail(link, owner, { kind: 'ping-up', from: instanceId, link: id }), end);
    sendMail(link, owner, { kind: 'join', from: instanceId, link: id });
    log.info(`cluster: this instance's viewers watch the shared session on instance ${owner}`);
    receive((event) => {
      if (state.ended) return;
      if (event.type === 'peer.mail') {
        const { mail } = event as PeerMailEvent;
        // Mail of an earlier link, or from an earlier owner, is not this link's.
        if (mail.from !== owner || mail.link !== id) return;
        beat.heard();
        if (mail.kind !== 'down' && mail.kind !== 'history') return;
        if (mail.seq !== state.heard + 1) return end(`frames ${state.heard + 1}–${mail.seq - 1} from it went missing`);
        state.heard = mail.seq;
        if (mail.kind === 'down') sendBack({ type: 'upstream.frame', frame: mail.frame });
        else sendBack({ type: 'upstream.history', historyUid: mail.history_uid });
      } else if (event.type === 'server.shutdown') {
        sendMail(link, owner, { kind: 'leave', from: instanceId, link: id });
        end('nobody here watches');
      } else if (event.type.startsWith('client.')) {
        const frame = (event as unknown as { frame: ClientFrame }).frame;
        if (!sendMail(link, owner, { kind: 'up', from: instanceId, link: id, seq: ++state.sent, frame })) {
          state.sent--;
          sendBack({ type: 'upstream.frame', frame: errorFrame('cluster_unavailable', `Redis is not answering: your ${frame.type} did not reach the shared session; please try again in a moment`) });
        }
      }
    });
    return () => {
      if (!state.ended) sendMail(link, owner, { kind: 'leave', from: instanceId, link: id });
      state.ended = true;
      beat.stop();
    };
  });
}
