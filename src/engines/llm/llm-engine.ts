import type { ImageInput, LlmRequest, ToolRound } from './llm-request.js';
import { networkErrorDetail, type EngineResponse } from '../engine-http.js';
import type { ErrorCode } from '../../protocol/error-codes.js';

/** Helpers every LLM provider shares; the engine contract (LlmEngine) is machines/engine-contracts.ts, its request llm-request.ts. */

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

/** The user's text as the model sees it (docs/protocol.md, 'Memory'): a note when images come with it. */
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
  /** The error frame's code when it is not the generic `llm` (a local model that cannot load, a provider not built). */
  constructor(
    message: string,
    readonly code?: ErrorCode,
  ) {
    super(message);
  }
}

/** The model refused the `tools` parameter (Ollama: "… does not support tools"): ask again in prompt mode. */
export class ToolsUnsupportedError extends LlmError {
  override name = 'ToolsUnsupportedError';
}

/** A request that got no answer (refused, reset, unknown host…), worded so that a person can act on it. */
export function describeNetworkError(err: unknown, url: string): LlmError {
  return new LlmError(`cannot reach ${url} (${networkErrorDetail(err)})`);
}

export async function readErrorBody(res: EngineResponse): Promise<string> {
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
export async function* bodyText(res: EngineResponse): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  for await (const chunk of res.body) yield decoder.decode(chunk, { stream: true });
  const rest = decoder.decode();
  if (rest) yield rest;
}
