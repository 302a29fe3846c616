import type { ChatMessage } from '../../agent/chat-memory.js';

/**
 * What one model call is asked: the turn builds it (`llmRequest`), the `llmStream` slot hands it to an LlmEngine
 * (machines/engine-contracts.ts), whose provider turns it into its wire format. Tools are MCP tools of the session's
 * servers. Pure types, so machines and the text functions they call (tool-call-json, tool-catalog) share them.
 */

export interface ImageInput {
  source?: string;
  data: string;
  mime_type?: string;
}

/** A tool the model may call (an MCP tool of one of the session's servers). */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  inputSchema: Record<string, unknown>;
  server: string;
}

/** A call the model asked for. `arguments` is the JSON text as the model wrote it (it may be malformed). */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
  /** Prompt mode names the server itself. */
  server?: string;
}

export interface ToolCallResult {
  id: string;
  content: string;
  isError: boolean;
}

/**
 * One round of tool use inside a turn: what the model wrote, the calls it asked for and their results.
 * `native` rounds are rendered in the provider's tool format; `prompt` rounds (models without native tools) as an
 * assistant message with the JSON it wrote and a user message with the results.
 */
export interface ToolRound {
  mode: 'native' | 'prompt';
  text: string;
  calls: ToolCallRequest[];
  results: ToolCallResult[];
}

/** Everything one LLM call needs; the engine turns it into its provider's wire format. */
export interface LlmRequest {
  system: string;
  memory: readonly ChatMessage[];
  /** This turn's user text (for a proactive turn: the hidden prompt). */
  userText: string;
  images: readonly ImageInput[];
  /** Native tools offered to the model (none: no `tools` parameter is sent at all). */
  tools?: readonly ToolDefinition[];
  /** This turn's tool rounds so far, sent after the user's message. */
  rounds?: readonly ToolRound[];
}
