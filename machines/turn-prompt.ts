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

/** Memories are recalled for this turn: memory is on and the user said something (a proactive turn recalls nothing). */
export function recallsMemories(context: Pick<TurnContext, 'trigger' | 'userText' | 'recall'>): boolean {
  return context.recall !== undefined && context.trigger.kind !== 'proactive' && context.userText.trim() !== '';
}

/** The tools are in the prompt and the model answers with JSON (models without native tools). */
export function toolsInPrompt(context: Pick<TurnContext, 'toolList' | 'toolMode'>): boolean {
  return context.toolList.length > 0 && context.toolMode === 'prompt';
}

/** The model call for the turn's current round: memory, the user's words, the tool rounds so far, and the tools. */
export function llmRequest(context: TurnContext): LlmRequest {
  const userText = context.trigger.kind === 'proactive' ? context.trigger.prompt : context.userText;
  const base = { memory: context.memory, userText, images: context.trigger.images, rounds: context.rounds };
  // What the character recalls of its other conversations follows its persona.
  const system = context.recalled ? `${context.system}\n\n${context.recalled}` : context.system;
  if (toolsInPrompt(context) && context.tools) {
    return { ...base, system: promptModeSystem(system, context.tools.promptTemplate, context.toolList) };
  }
  return { ...base, system, tools: context.toolMode === 'native' ? context.toolList : [] };
}
