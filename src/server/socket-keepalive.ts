import { WebSocket } from 'ws';

/**
 * Protocol pings every `intervalMs` (0: none); a peer that has not answered the previous ping by the next one is
 * terminated after `onDead` is called. Returns the function that stops it (the owning actor calls it on close and in
 * its cleanup).
 */
export function keepAlive(ws: WebSocket, intervalMs: number, onDead: () => void): () => void {
  if (intervalMs <= 0) return () => undefined;
  let alive = true;
  ws.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!alive) {
      onDead();
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, intervalMs);
  return () => clearInterval(timer);
}
