/**
 * The names actors are registered under in the XState system, so that one actor finds another without a map on the
 * side. A session is `session:<client_uid>`: the server's sessions and the proxy's are found the same way, by group
 * invitations among others. Groups are children of the server (`group.<n>`) and are reached by reference, not by
 * name, so they have no system id.
 */
export const SESSION_SYSTEM_PREFIX = 'session:';

export const sessionSystemId = (clientUid: string): string => `${SESSION_SYSTEM_PREFIX}${clientUid}`;

/** The server actor itself (the root), which a message from another instance may need to reach. */
export const SERVER_SYSTEM_ID = 'server';
