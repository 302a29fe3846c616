import { WebSocket } from 'ws';
import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../observability/logger.js';
import { parseSocketMessage } from '../protocol/client-frame-parser.js';
import { keepAlive } from '../server/socket-keepalive.js';
import { encodeServerFrame } from '../protocol/server-frame-encoding.js';
import type { ServerFrame } from '../protocol/server-frames.js';
import { SocketHandle } from '../server/socket-handle.js';
import { createOutboundGate, type OutboundBounds } from '../server/outbound-gate.js';
import { closeSocket } from '../server/close-socket.js';
import type { ViewerCommand, ViewerInput } from '../../machines/proxy-hub.machine.js';

/**
 * One `/proxy-ws` viewer's socket, as a child actor of the proxy hub: inbound frames are validated here and reported
 * as `viewer.frame`; `viewer.send` writes a frame (a failed write is logged with the viewer, never lost silently);
 * the close is reported as `viewer.closed`. Its cleanup closes the socket.
 */
export function createViewerSocket(logger: Logger, pingIntervalMs: number, outbound: OutboundBounds) {
  return fromCallback<ViewerCommand, ViewerInput, EventObject>(({ input, sendBack, receive }) => {
    if (!(input.socket instanceof SocketHandle)) throw new Error('a viewer is a client socket');
    const { ws } = input.socket;
    const log = logger.child({ client_uid: `proxy:${input.viewerId}` });
    let stopped = false;
    ws.on('message', (data, isBinary) => {
      if (stopped) return;
      const parsed = parseSocketMessage(data, isBinary);
      if (parsed.ok) sendBack({ type: 'viewer.frame', viewerId: input.viewerId, frame: parsed.frame });
      else {
        log.warn(`rejected frame: ${parsed.message}`);
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'error', code: 'invalid_frame', message: parsed.message } satisfies ServerFrame));
      }
    });
    ws.on('error', (err) => log.warn(`socket error: ${err.message}`));
    ws.on('close', () => {
      stopPinging();
      if (!stopped) sendBack({ type: 'viewer.closed', viewerId: input.viewerId });
    });
    const stopPinging = keepAlive(ws, pingIntervalMs, () => log.warn('viewer did not answer a ping: dropping the connection'));
    // A viewer that stops reading loses audio, then its connection; the other viewers are never held by it.
    const gate = createOutboundGate(ws, outbound, (event) => {
      if (event.action === 'audio_dropped') log.warn(`viewer is not reading (${event.bufferedBytes} bytes queued): no audio until the reply ends`);
      else log.warn(`viewer is not reading (${event.bufferedBytes} bytes queued): closing the connection (1013)`);
      if (!stopped) sendBack(event);
    });

    receive((command) => {
      if (command.type !== 'viewer.send') return;
      gate.send(command.frame, (err) => {
        if (err && !stopped) log.warn(`could not send ${command.frame.type}: ${err.message}`);
      });
    });
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) sendBack({ type: 'viewer.closed', viewerId: input.viewerId });

    return () => {
      stopped = true;
      stopPinging();
      gate.stop();
      closeSocket(ws, 1001, 'proxy closed');
    };
  });
}
