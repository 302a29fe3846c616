import type { AnyActorRef } from 'xstate';

/**
 * What a session writes to, as machines carry it: an opaque value in events and input. Only the bridge that src
 * provides for it reaches the connection behind it (src/server/socket-bridge.ts for a client, src/proxy/proxy-bridge.ts
 * for a hub). `toJSON` keeps the connection (large and circular) out of inspection payloads and logs.
 */
export interface ClientSocket {
  readonly kind: 'client';
  /** The peer's address, for logs. */
  readonly remote: string;
  toJSON(): string;
}

/** The "socket" of the session a proxy hub runs in-process: what the session writes goes to the hub as `upstream.frame`. */
export interface HubLink {
  readonly kind: 'hub';
  readonly hub: AnyActorRef;
  toJSON(): string;
}

/** A client's socket, or the link of a session that a proxy hub runs in-process. */
export type SessionSocket = ClientSocket | HubLink;
