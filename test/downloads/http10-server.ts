import net from 'node:net';

/**
 * A server on 127.0.0.1 that answers like python's `http.server` (HTTP/1.0): no keep-alive, and the body ends when
 * it closes the connection. Written on raw sockets so that every way of ending a body can be chosen.
 */
export interface Http10Route {
  status?: number;
  body?: Buffer;
  /** Send Content-Length (python does); without it only the close ends the body. Default true. */
  contentLength?: boolean;
  /** Send `Transfer-Encoding: chunked` framing (HTTP/1.1 style), one chunk per write. */
  chunked?: boolean;
  /** Stop after this many body bytes… */
  cutAfter?: number;
  /** …by a close (FIN, the default) or a reset (RST). */
  cut?: 'close' | 'reset';
  /** Answer with this Location (a 3xx status). */
  location?: string;
}

export interface Http10Server {
  base: string;
  /** `path` → answer; unknown paths get 404. */
  routes: Map<string, Http10Route>;
  /** Request lines seen, `GET /path`. */
  requests: string[];
  close(): Promise<void>;
}

const REASONS: Record<number, string> = { 200: 'OK', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 404: 'Not Found' };

export async function startHttp10Server(): Promise<Http10Server> {
  const routes = new Map<string, Http10Route>();
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', function onData(data) {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const [method, target] = head.split('\r\n', 1)[0]!.split(' ');
      requests.push(`${method} ${target}`);
      answer(socket, routes.get(target ?? '') ?? { status: 404, body: Buffer.from('Not Found') });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    routes,
    requests,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function answer(socket: net.Socket, route: Http10Route): void {
  const status = route.status ?? (route.location ? 302 : 200);
  const body = route.body ?? Buffer.alloc(0);
  const headers = [`HTTP/${route.chunked ? '1.1' : '1.0'} ${status} ${REASONS[status] ?? 'Status'}`, 'Server: SimpleHTTP/0.6 Python/3.11.7', 'Content-Type: application/octet-stream'];
  if (route.location) headers.push(`Location: ${route.location}`);
  if (route.chunked) headers.push('Transfer-Encoding: chunked', 'Connection: close');
  else if (route.contentLength !== false) headers.push(`Content-Length: ${body.length}`);
  socket.write(`${headers.join('\r\n')}\r\n\r\n`);
  const sent = route.cutAfter === undefined ? body : body.subarray(0, route.cutAfter);
  if (route.chunked) {
    for (let at = 0; at < sent.length; at += 64 * 1024) {
      const part = sent.subarray(at, at + 64 * 1024);
      socket.write(`${part.length.toString(16)}\r\n`);
      socket.write(part);
      socket.write('\r\n');
    }
    if (route.cutAfter === undefined) socket.write('0\r\n\r\n');
  } else {
    socket.write(sent);
  }
  if (route.cutAfter !== undefined && route.cut === 'reset') {
    // Reset only once the bytes are on the wire (the client must see a partial body, then the reset).
    socket.write('', () => setTimeout(() => socket.resetAndDestroy(), 100));
    return;
  }
  socket.end(); // the FIN that ends an HTTP/1.0 body
}
