import { fromCallback, type EventObject } from 'xstate';
import type { SocketBridgeInput, SocketCommand } from '../../machines/session.machine.js';

/**
 * The socket bridge of the proxy's session: frames the session sends go to its hub, which routes them to the viewers.
 * Inbound frames come from the hub as `client.*` events, already validated at the viewers' sockets.
 */
export function createProxyBridge() {
  return fromCallback<SocketCommand, SocketBridgeInput, EventObject>(({ input, receive }) => {
    const link = input.socket;
    if (link.kind !== 'hub') throw new Error('the proxy bridge serves the sessions of a proxy hub only');
    receive((command) => {
      if (command.type === 'socket.send') link.hub.send({ type: 'upstream.frame', frame: command.frame });
    });
  });
}
