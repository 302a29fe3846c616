import type { WebSocket } from 'ws';

/**
 * An accepted client socket, carried in events and actor input. Opaque to the machines; `toJSON` keeps it out of
 * inspection payloads and logs (a ws instance is large and circular).
 */
export class SocketHandle {
  constructor(
    readonly ws: WebSocket,
    readonly remote: string,
  ) {}

  toJSON(): string {
    return `[socket ${this.remote}]`;
  }
}
