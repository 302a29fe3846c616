/**
 * The liveness of a link between two instances (the proxy's and the groups'): each side pings the other every
 * `pingMs`, and gives the other up when it has heard nothing from it for `silenceMs`. Owned by the actor that holds
 * the link (its cleanup calls `stop`).
 */
export interface PeerTimes {
  /** How often each side of a link says it is there. */
  pingMs: number;
  /** A link whose other side said nothing for this long is ended. */
  silenceMs: number;
}

export function heartbeat(times: PeerTimes, ping: () => void, silent: (why: string) => void) {
  let heardAt = Date.now();
  let over = false;
  const timer = setInterval(() => {
    if (over) return;
    if (Date.now() - heardAt > times.silenceMs) {
      over = true;
      silent(`nothing heard for ${times.silenceMs} ms`);
    } else ping();
  }, times.pingMs);
  return {
    /** The other side said something. */
    heard: () => void (heardAt = Date.now()),
    stop: () => clearInterval(timer),
  };
}
