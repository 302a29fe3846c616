import { WebSocket, type RawData } from 'ws';
import { fromCallback, type EventObject } from 'xstate';
import type { SocketBridgeInput, SocketCommand } from '../../machines/session.machine.js';
import { parseSocketMessage } from '../protocol/client-frame-parser.js';
import { encodeServerFrame } from '../protocol/server-frame-encoding.js';
import { keepAlive } from './socket-keepalive.js';
import type { Logger } from '../observability/logger.js';
import { SocketHandle } from './socket-handle.js';
import { createOutboundGate, type OutboundBounds } from './outbound-gate.js';
import { closeSocket } from './close-socket.js';

/** Frames a client may send before its session is ready; upstream also reads them only after the connect frames. */
const MAX_HELD_FRAMES = 1000;

export interface SocketBridgeOptions {
  logger: Logger;
  /** Ping interval; a peer that has not answered the previous ping by the next one is terminated. 0 disables. */
  pingIntervalMs: number;
  /** What may be queued for the peer (system_config.ws_max_buffered_bytes). */
  outbound: OutboundBounds;
}

/**
 * The session's socket, as an actor. It starts paused (frames are held until the session sends `socket.resume`),
 * validates every inbound frame at the edge, writes `socket.send` frames through a bound on what is queued for the
 * peer (outbound-gate.ts: reported as `socket.backpressure`), pings the peer, and reports the close.
 * Its cleanup closes the socket (1001) if it is still open, so a stopped session never leaves a socket behind.
 */
export function createSocketBridge(options: SocketBridgeOptions) {
  return fromCallback<SocketCommand, SocketBridgeInput, EventObject>(({ input, sendBack, receive }) => {
    if (!(input.socket instanceof SocketHandle)) throw new Error('the socket bridge serves client sockets (a proxy session has its own bridge)');
    const { ws } = input.socket;
    const log = options.logger.child({ client_uid: input.clientUid });
    let stopped = false;
    let paused = true;
    let dropped = 0;
    const held: Array<[RawData, boolean]> = [];

    const deliver = (data: RawData, isBinary: boolean) => {
      const parsed = parseSocketMessage(data, isBinary);
      if (parsed.ok) sendBack({ type: `client.${parsed.frame.type}`, frame: parsed.frame });
      else {
        log.warn(`rejected frame: ${parsed.message}`);
        sendBack({ type: 'client.invalid', message: parsed.message });
      }
    };

    ws.on('message', (data, isBinary) => {
      if (stopped) return;
      if (!paused) return deliver(data, isBinary);
      if (held.length < MAX_HELD_FRAMES) held.push([data, isBinary]);
      else dropped++;
    });
    ws.on('error', (err) => log.warn(`socket error: ${err.message}`));
    ws.on('close', (code, reason) => {
      stopPinging();
      if (stopped) return;
      log.info(`client disconnected (code ${code})`);
      sendBack({ type: 'socket.closed', code, reason: reason.toString('utf8') });
    });

    const stopPinging = keepAlive(ws, options.pingIntervalMs, () => log.warn('client did not answer a ping: dropping the connection'));
    const gate = createOutboundGate(ws, options.outbound, (event) => {
      if (event.action === 'audio_dropped') log.warn(`client is not reading (${event.bufferedBytes} bytes queued): no audio until its reply ends`);
      else log.warn(`client is not reading (${event.bufferedBytes} bytes queued): closing the connection (1013)`);
      if (!stopped) sendBack(event);
    });

    receive((command) => {
      if (command.type === 'socket.send') {
        gate.send(command.frame);
      } else if (command.type === 'socket.resume' && paused) {
        paused = false;
        for (const [data, isBinary] of held.splice(0)) deliver(data, isBinary);
        if (dropped > 0) {
          sendBack({ type: 'client.invalid', message: `${dropped} frame(s) sent before the session was ready were dropped` });
          dropped = 0;
        }
      }
    });

    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) {
      sendBack({ type: 'socket.closed', code: 1006, reason: 'closed before the session started' });
    }

    return () => {
      stopped = true;
      stopPinging();
      gate.stop();
      held.length = 0;
      closeSocket(ws, 1001, 'session ended');
    };
  });
}
