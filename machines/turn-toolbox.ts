import { fromCallback, type AnyActorRef, type EventObject } from 'xstate';

/**
 * The turn's two conversations with the session's toolbox (toolbox.machine.ts), each a small actor of the turn, so
 * that leaving the state that runs it ends it.
 */

/** Asks the toolbox for the tool list and passes the answer on. */
export const toolListActor = fromCallback<EventObject, { toolbox: AnyActorRef }>(({ input, self, sendBack, receive }) => {
  input.toolbox.send({ type: 'tools.list', replyTo: self });
  receive((event) => sendBack(event));
});

export interface ToolCallInput {
  toolbox: AnyActorRef;
  server: string;
  tool: string;
  args: Record<string, unknown>;
}

/** One tool call through the toolbox; stopped before the answer (interrupt), it cancels the call. */
export const toolCallActor = fromCallback<EventObject, ToolCallInput>(({ input, self, sendBack, receive }) => {
  const callId = self.sessionId;
  let answered = false;
  input.toolbox.send({ type: 'tool.call', callId, server: input.server, tool: input.tool, args: input.args, replyTo: self });
  receive((event) => {
    answered = true;
    sendBack(event);
  });
  return () => {
    if (!answered && input.toolbox.getSnapshot().status === 'active') input.toolbox.send({ type: 'tool.cancel', callId });
  };
});
