import { WebSocket } from 'ws';
import { encodeServerFrame } from '../protocol/server-frame-encoding.js';
import type { ServerFrame } from '../protocol/server-frames.js';
import { closeSocket } from './close-socket.js';
import { isChainEnd } from '../../machines/turn-ending.js';

export interface OutboundBounds {
  /** Queued bytes beyond which this client gets no more audio until its turn ends (`ws_max_buffered_bytes`). */
  softBytes: number;
  /** Queued bytes beyond which the connection is closed with 1013 (4 × softBytes). */
  hardBytes: number;
}

export type BackpressureAction = 'audio_dropped' | 'closed';

/** Reported by the socket's actor to its parent, so that /metrics (from the inspection stream) counts it. */
export interface BackpressureEvent {
  type: 'socket.backpressure';
  action: BackpressureAction;
  bufferedBytes: number;
}

export function outboundBounds(maxBufferedBytes: number): OutboundBounds {
  return { softBytes: maxBufferedBytes, hardBytes: maxBufferedBytes * 4 };
}


/**
 * Writes frames to one peer without letting a peer that stops reading grow the server. Beyond `softBytes` queued
 * (ws.bufferedAmount), the peer's audio is dropped for the rest of the turn: each audio frame still goes, as a
 * silent payload (`audio: null`, no volumes), so its display text, expressions and the chain's bookkeeping reach
 * the client, which is then simply not talked to aloud until `conversation-chain-end`. If what is queued still
 * grows past `hardBytes`, the connection is closed with 1013 (Try Again Later) and dropped after a grace period.
 * Nothing here waits: other clients are never slowed by this one.
 */
export function createOutboundGate(ws: WebSocket, bounds: OutboundBounds, report: (event: BackpressureEvent) => void) {
  let muted = false;
  let closing = false;
  let cancelClose = () => {};

  const overflow = () => {
    closing = true;
    report({ type: 'socket.backpressure', action: 'closed', bufferedBytes: ws.bufferedAmount });
    cancelClose = closeSocket(ws, 1013, 'client is not reading');
  };

  return {
    send(frame: ServerFrame, callback?: (err?: Error) => void): void {
      if (closing || ws.readyState !== WebSocket.OPEN) return;
      let out = frame;
      if (frame.type === 'audio' && frame.audio !== null) {
        if (!muted && ws.bufferedAmount > bounds.softBytes) {
          muted = true;
          report({ type: 'socket.backpressure', action: 'audio_dropped', bufferedBytes: ws.bufferedAmount });
        }
        if (muted) out = { ...frame, audio: null, volumes: [] };
      }
      const data = encodeServerFrame(out);
      if (Array.isArray(data)) {
        // One message in fragments (a big history-list), sent back to back: nothing can come between them.
        data.forEach((part, i) => {
          const fin = i === data.length - 1;
          ws.send(part, { binary: false, fin }, fin ? callback : undefined);
        });
      } else {
        // A text frame, also when the frame comes encoded as a Buffer (history-list).
        ws.send(data, { binary: false }, callback);
      }
      if (isChainEnd(frame)) muted = false;
      if (ws.bufferedAmount > bounds.hardBytes) overflow();
    },
    /** The owning actor's cleanup. */
    stop(): void {
      cancelClose();
    },
  };
}
