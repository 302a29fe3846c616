import type { ImageInput, LlmRequest } from '../src/engines/llm/llm-request.js';
import { promptModeSystem } from '../src/mcp/tool-catalog.js';
import type { TurnContext } from './turn-contract.js';

/** What the turn asks the model and remembers of the user: pure functions of the turn's context. */

/** The user's message as memory stores it (images are not kept, only noted). */
export function userMemoryText(text: string, images: readonly ImageInput[]): string {
  return text.trim() || (images.length > 0 ? '[User provided image(s)]' : '');
}

/** The user gave nothing to answer (no words, no image); a proactive turn always has its prompt. */
export function nothingToAnswer(context: Pick<TurnContext, 'trigger' | 'userText'>): boolean {
  return context.trigger.kind !== 'proactive' && userMemoryText(context.userText, context.trigger.images) === '';
}

/** The tools are in the prompt and the model answers with JSON (models without native tools). */
export function toolsInPrompt(context: Pick<TurnContext, 'toolList' | 'toolMode'>): boolean {
  return context.toolList.length > 0 && context.toolMode === 'prompt';
}

/** The model call for the turn's current round: memory, the user's words, the tool rounds so far, and the tools. */
export function llmRequest(context: TurnContext): LlmRequest {
  const userText = context.trigger.kind === 'proactive' ? context.trigger.prompt : context.userText;
  const base = { memory: context.memory, userText, images: context.trigger.images, rounds: context.rounds };
  if (toolsInPrompt(context) && context.tools) {
    return { ...base, system: promptModeSystem(context.system, context.tools.promptTemplate, context.toolList) };
  }
  return { ...base, system: context.system, tools: context.toolMode === 'native' ? context.toolList : [] };
}
