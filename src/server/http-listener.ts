import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { fromCallback, type EventObject } from 'xstate';
import type { AppConfig } from '../config/app-config.js';
import { createHttpApp, type HttpAppOptions } from '../http/http-app.js';
import { checkHost, checkOrigin } from '../http/origin-check.js';
import type { Logger } from '../observability/logger.js';
import { SocketHandle } from './socket-handle.js';
import { closeSocket } from './close-socket.js';
import { webToolLink } from '../web-tool/web-tool-link.js';

export interface HttpListenerOptions {
  app: AppConfig;
  host: string;
  port: number;
  logger: Logger;
  health: () => Record<string, unknown>;
  metrics?: () => Promise<{ contentType: string; body: string }>;
  sessions?: HttpAppOptions['sessions'];
  memory?: HttpAppOptions['memory'];
  instanceId?: string;
  /** Called once the HTTP server has closed after the actor stopped. */
  onClosed?: () => void;
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function refuseUpgrade(socket: Duplex, status: number, text: string, message: string) {
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/**
 * The HTTP server and the `/client-ws` endpoint, as an actor: it reports `http.listening` (with the real port, so
 * `--port 0` works), `http.failed`, one `client.connected` per accepted socket, and (with `enable_proxy`) one
 * `proxy.connected` per viewer of `/proxy-ws`. A `/tts-ws` connection goes to the web tool actor, and so do the
 * requests of `POST /asr`, whose answers come back here. Stopping it closes the listener and idle HTTP connections;
 * accepted sockets belong to their sessions (or to the web tool).
 */
export function createHttpListener(options: HttpListenerOptions) {
  return fromCallback<EventObject, void, EventObject>(({ sendBack, receive, system, self }) => {
    const { app, logger } = options;
    // The web tool's answers come back to this actor.
    const webTool = webToolLink(system, self);
    receive((event) => webTool.onReply(event));
    const access = {
      allowedHosts: app.system.allowed_hosts,
      allowedOrigins: app.system.allowed_origins,
      onRefused: (message: string) => logger.warn(message),
    };
    const server = http.createServer(createHttpApp({ paths: app.paths, health: options.health, metrics: options.metrics, sessions: options.sessions, memory: options.memory, access, webTool, ...(options.instanceId ? { instanceId: options.instanceId } : {}) }));
    const wss = new WebSocketServer({ noServer: true, maxPayload: app.system.ws_max_payload_bytes });

    server.on('upgrade', (req, socket, head) => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      const proxy = pathname === '/proxy-ws' && app.system.enable_proxy;
      const speech = pathname === '/tts-ws';
      if (pathname !== '/client-ws' && !proxy && !speech) {
        const hint = pathname === '/proxy-ws' ? ' (/proxy-ws needs system_config.enable_proxy: true)' : '';
        refuseUpgrade(socket, 404, 'Not Found', `No WebSocket endpoint at ${pathname}; use /client-ws${hint}`);
        return;
      }
      const host = checkHost(req.headers.host, app.system.allowed_hosts);
      const verdict = host.ok ? checkOrigin(req.headers.origin, req.headers.host, app.system.allowed_origins) : host;
      if (!verdict.ok) {
        logger.warn(`refused a WebSocket from ${req.socket.remoteAddress}: ${verdict.reason}`);
        refuseUpgrade(socket, 403, 'Forbidden', `Forbidden: ${verdict.reason}`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
        if (speech) {
          logger.info(`/tts-ws connected from ${remote}`);
          if (!webTool.openSpeechSocket(new SocketHandle(ws, remote))) closeSocket(ws, 1013, 'the server is stopping');
          return;
        }
        if (proxy) {
          logger.info(`proxy viewer connected from ${remote}`);
          sendBack({ type: 'proxy.connected', socket: new SocketHandle(ws, remote) });
          return;
        }
        const clientUid = randomUUID();
        logger.child({ client_uid: clientUid }).info(`client connected from ${remote}`);
        sendBack({ type: 'client.connected', clientUid, socket: new SocketHandle(ws, remote) });
      });
    });

    server.on('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? ' (the port is in use; pick another with --port, or --port 0 for any free port)' : '';
      sendBack({ type: 'http.failed', message: `cannot listen on ${options.host}:${options.port}: ${err.message}${hint}` });
    });

    server.listen(options.port, options.host, () => {
      const { port } = server.address() as AddressInfo;
      sendBack({ type: 'http.listening', url: `http://${urlHost(options.host)}:${port}`, port });
    });

    return () => {
      webTool.close();
      wss.close();
      if (server.listening) server.close(() => options.onClosed?.());
      else options.onClosed?.();
      server.closeAllConnections();
    };
  });
}
