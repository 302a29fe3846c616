import type { ToolCallRequest } from '../engines/llm/llm-request.js';

/**
 * Prompt-mode tool calls (models without native tools: docs/upstream-defects.md, U20): the model answers with a JSON
 * object `{"mcp_server", "tool", "arguments"}` (or a list of them) inside its text. The scanner passes ordinary text on
 * at once and holds back anything from an opening `{` (or a code fence) until it knows whether it is a tool call, so
 * the JSON is never spoken. Unlike upstream's brace counter it understands strings, accepts `arguments` as an object or
 * a JSON string, and gives back a held text that turned out not to be a call.
 */
export interface ToolJsonState {
  held: string;
  calls: number;
}

export const initialToolJson = (): ToolJsonState => ({ held: '', calls: 0 });

/** Held text beyond this is not a tool call; it is released as speech. */
const MAX_HELD = 16_000;

/** The index just after the value that starts at `start` (`{` or `[`), or -1 while it is still open. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function toCall(value: unknown, n: number): ToolCallRequest | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const { mcp_server, tool, arguments: args } = value as Record<string, unknown>;
  if (typeof tool !== 'string' || !tool) return null;
  let argumentsText: string;
  if (typeof args === 'string') argumentsText = args || '{}';
  else argumentsText = JSON.stringify(args ?? {});
  return { id: `prompt_call_${n}`, name: tool, arguments: argumentsText, ...(typeof mcp_server === 'string' ? { server: mcp_server } : {}) };
}

/** Where held-back text starts: an opening brace, or a code fence that may open a JSON block. */
function holdStart(text: string): number {
  const brace = text.search(/[[{]\s*(?=\{|$)|\{/);
  const fence = /```[a-zA-Z]*\s*$/.exec(text);
  const candidates = [brace, fence ? fence.index : -1].filter((i) => i >= 0);
  return candidates.length > 0 ? Math.min(...candidates) : -1;
}

export interface ToolJsonStep {
  state: ToolJsonState;
  /** Text to speak now. */
  speak: string;
  /** Calls found: the model's answer ends here (the rest of its stream is not wanted). */
  calls: ToolCallRequest[];
}

export function scanToolJson(state: ToolJsonState, text: string): ToolJsonStep {
  let rest = state.held + text;
  let speak = '';
  let callCount = state.calls;
  for (;;) {
    const start = holdStart(rest);
    if (start < 0) return { state: { held: '', calls: callCount }, speak: speak + rest, calls: [] };
    speak += rest.slice(0, start);
    rest = rest.slice(start);
    const open = rest.search(/[[{]/);
    if (open < 0) {
      // A lone code fence: wait for what follows it.
      return { state: { held: rest, calls: callCount }, speak, calls: [] };
    }
    const end = balancedEnd(rest, open);
    if (end < 0) {
      if (rest.length > MAX_HELD) return { state: { held: '', calls: callCount }, speak: speak + rest, calls: [] };
      return { state: { held: rest, calls: callCount }, speak, calls: [] };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest.slice(open, end));
    } catch {
      parsed = undefined;
    }
    const calls = (Array.isArray(parsed) ? parsed : [parsed])
      .map((value) => toCall(value, ++callCount))
      .filter((call): call is ToolCallRequest => call !== null);
    if (calls.length > 0) return { state: { held: '', calls: callCount }, speak: speak.replace(/```[a-zA-Z]*\s*$/, ''), calls };
    callCount = state.calls;
    // Not a tool call: it is text like any other.
    speak += rest.slice(0, end);
    rest = rest.slice(end);
  }
}

/** At the end of the model's answer: whatever was held is text after all. */
export function flushToolJson(state: ToolJsonState): { state: ToolJsonState; speak: string } {
  return { state: { held: '', calls: state.calls }, speak: state.held };
}
