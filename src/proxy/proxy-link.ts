import type { AnyActorRef } from 'xstate';
import type { HubLink } from '../../machines/socket-contract.js';

/**
 * The "socket" of the session a proxy hub runs in-process: what the session writes goes to the hub as
 * `upstream.frame`. Opaque to the machines, like SocketHandle; `toJSON` keeps the hub out of inspection payloads.
 */
export class ProxyLink implements HubLink {
  readonly kind = 'hub';

  constructor(readonly hub: AnyActorRef) {}

  toJSON(): string {
    return '[proxy link]';
  }
}
