import type { WebSocket } from 'ws';
import type { ClientSocket } from '../../machines/socket-contract.js';

/**
 * An accepted client socket, carried in events and actor input (machines see the ClientSocket contract). `toJSON`
 * keeps it out of inspection payloads and logs (a ws instance is large and circular).
 */
export class SocketHandle implements ClientSocket {
  readonly kind = 'client';

  constructor(
    readonly ws: WebSocket,
    readonly remote: string,
  ) {}

  toJSON(): string {
    return `[socket ${this.remote}]`;
  }
}
