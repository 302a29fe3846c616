import type { EngineCallOptions } from '../http-retry.js';
import type { ChatMessage } from '../../agent/chat-memory.js';

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

/** How a model call ended: with the calls it asked for (empty when it simply answered). */
export interface LlmStreamEnd {
  toolCalls: ToolCallRequest[];
}

/**
 * A configured LLM endpoint. Stateless (it holds settings, not conversations), so sessions may share one; every call
 * takes the actor's abort signal, and aborting closes the HTTP request.
 */
export interface LlmEngine {
  readonly provider: string;
  /** Native tool calling in OpenAI's or Anthropic's format; `none`: the engine cannot use tools at all. */
  readonly toolStyle: 'openai' | 'claude' | 'none';
  /** `options.onRetry` hears of each retry of the request (before any output; see http-retry.ts). */
  stream(request: LlmRequest, onText: (text: string) => void, signal: AbortSignal, options?: EngineCallOptions): Promise<LlmStreamEnd | void>;
}

/**
 * A prompt-mode round as plain messages, the same for every provider: the model's answer with its JSON, then one
 * user message with the results.
 */
export function promptRoundMessages(round: ToolRound): Array<{ role: 'assistant' | 'user'; content: string }> {
  const results = round.results.map((r) => (r.isError ? r.content : `Result of ${round.calls.find((c) => c.id === r.id)?.name ?? 'tool'}: ${r.content}`));
  return [
    { role: 'assistant', content: round.text },
    { role: 'user', content: results.join('\n') },
  ];
}

/** The user's text as the model sees it (UPSTREAM-BEHAVIOR §2.3): a note when images come with it. */
export function userPromptText(request: LlmRequest): string {
  const imageNote = request.images.length > 0 ? '\n[User has also provided images]' : '';
  return `${request.userText}${imageNote}`.trim();
}

/** Images the model can take: data URLs of images only. */
export function usableImages(request: LlmRequest): ImageInput[] {
  return request.images.filter((image) => typeof image.data === 'string' && image.data.startsWith('data:image'));
}

/** A failure of the model call, with a message meant for the user (never spoken or stored as the AI's words). */
export class LlmError extends Error {
  override name = 'LlmError';
}

/** The model refused the `tools` parameter (Ollama: "… does not support tools"): ask again in prompt mode. */
export class ToolsUnsupportedError extends LlmError {
  override name = 'ToolsUnsupportedError';
}

/** Turns fetch's network errors ("fetch failed") into something a person can act on. */
export function describeFetchError(err: unknown, url: string): LlmError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message ?? (err as Error).message;
  return new LlmError(`cannot reach ${url} (${detail})`);
}

export async function readErrorBody(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const json = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const message = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (message) return message;
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || res.statusText;
}

/** Yields decoded text chunks of a streamed response body. */
export async function* bodyText(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) yield decoder.decode(chunk, { stream: true });
  const rest = decoder.decode();
  if (rest) yield rest;
}
