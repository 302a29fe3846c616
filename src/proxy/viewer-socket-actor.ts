import { WebSocket } from 'ws';
import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../observability/logger.js';
import { parseClientFrame } from '../protocol/client-frames.js';
import type { ServerFrame } from '../protocol/server-frames.js';
import type { SocketHandle } from '../server/socket-handle.js';

export type ViewerCommand = { type: 'viewer.send'; frame: ServerFrame };

export interface ViewerInput {
  viewerId: string;
  socket: SocketHandle;
}

/**
 * One `/proxy-ws` viewer's socket, as a child actor of the proxy hub: inbound frames are validated here and reported
 * as `viewer.frame`; `viewer.send` writes a frame (a failed write is logged with the viewer, never lost silently);
 * the close is reported as `viewer.closed`. Its cleanup closes the socket.
 */
export function createViewerSocket(logger: Logger, pingIntervalMs: number) {
  return fromCallback<ViewerCommand, ViewerInput, EventObject>(({ input, sendBack, receive }) => {
    const { ws } = input.socket;
    const log = logger.child({ client_uid: `proxy:${input.viewerId}` });
    let stopped = false;
    ws.on('message', (data, isBinary) => {
      if (stopped) return;
      const parsed = parseClientFrame(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary);
      if (parsed.ok) sendBack({ type: 'viewer.frame', viewerId: input.viewerId, frame: parsed.frame });
      else {
        log.warn(`rejected frame: ${parsed.message}`);
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'error', message: parsed.message } satisfies ServerFrame));
      }
    });
    ws.on('error', (err) => log.warn(`socket error: ${err.message}`));
    ws.on('close', () => {
      clearInterval(pinger);
      if (!stopped) sendBack({ type: 'viewer.closed', viewerId: input.viewerId });
    });
    let alive = true;
    ws.on('pong', () => (alive = true));
    const pinger =
      pingIntervalMs > 0
        ? setInterval(() => {
            if (ws.readyState !== WebSocket.OPEN) return;
            if (!alive) return ws.terminate();
            alive = false;
            ws.ping();
          }, pingIntervalMs)
        : undefined;

    receive((command) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify(command.frame), (err) => {
        if (err && !stopped) log.warn(`could not send ${command.frame.type}: ${err.message}`);
      });
    });
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) sendBack({ type: 'viewer.closed', viewerId: input.viewerId });

    return () => {
      stopped = true;
      clearInterval(pinger);
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1001, 'proxy closed');
    };
  });
}
