import { WebSocket } from 'ws';

/** After a close frame we wait this long for the peer's answer before dropping the TCP connection. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Closes a client's socket the polite way: a close frame with `code`, then, if the peer has not answered within
 * CLOSE_GRACE_MS, the TCP connection is dropped. The timer never keeps the process alive and is cleared by the
 * close itself; the returned function clears it too (for an owner that is stopping). A socket already closing or
 * closed is left as it is.
 */
export function closeSocket(ws: WebSocket, code: number, reason: string): () => void {
  if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) return () => {};
  ws.close(code, reason);
  const killer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
  killer.unref();
  const cancel = () => clearTimeout(killer);
  ws.once('close', cancel);
  return cancel;
}
