import type { ToolCallRequest, ToolDefinition } from '../src/engines/llm/llm-request.js';
import type { ToolCallStatusFrame } from '../src/protocol/server-frames.js';
import type { TurnContext } from './turn-contract.js';

/** The tool calls of a round, checked and reported: pure functions of the turn's context. */

/** A call as the toolbox runs it, or why it cannot run (bad argument JSON, unknown tool). */
export function resolveCall(
  call: ToolCallRequest,
  tools: readonly ToolDefinition[],
): { server: string; args: Record<string, unknown> } | { error: string } {
  const candidates = tools.filter((t) => t.name === call.name);
  const tool = candidates.find((t) => t.server === call.server) ?? candidates[candidates.length - 1];
  if (!tool) return { error: `Tool '${call.name}' is not available.` };
  let args: unknown;
  try {
    args = JSON.parse(call.arguments || '{}');
  } catch (err) {
    return { error: `the arguments for '${call.name}' are not valid JSON (${(err as Error).message})` };
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) return { error: `the arguments for '${call.name}' must be a JSON object` };
  return { server: tool.server, args: args as Record<string, unknown> };
}

/** The call of the round that runs next (the calls run one by one, in the model's order). */
export function currentCall(context: Pick<TurnContext, 'pendingCalls' | 'roundResults'>): ToolCallRequest {
  return context.pendingCalls[context.roundResults.length]!;
}

/** The current call, resolved against the listed tools. */
export function resolveCurrentCall(context: Pick<TurnContext, 'pendingCalls' | 'roundResults' | 'toolList'>) {
  return resolveCall(currentCall(context), context.toolList);
}

/** A call's `tool_call_status` frame, stamped with the turn's clock and signed by its speaker. */
export function statusFrame(
  context: Pick<TurnContext, 'clock' | 'speaker'>,
  call: ToolCallRequest,
  status: ToolCallStatusFrame['status'],
  content: string,
): ToolCallStatusFrame {
  return {
    type: 'tool_call_status',
    tool_id: call.id,
    tool_name: call.name,
    status,
    content,
    timestamp: new Date(context.clock.now()).toISOString(),
    name: context.speaker.name,
  };
}

/** Why calls beyond the step cap are not run. */
export function overStepCapMessage(maxSteps: number): string {
  return `Error: not run: the model asked for tools more than ${maxSteps} times in one reply`;
}
