import type { ChatMessage } from '../../agent/chat-memory.js';

export interface ImageInput {
  source?: string;
  data: string;
  mime_type?: string;
}

/** Everything one LLM call needs; the engine turns it into its provider's wire format. */
export interface LlmRequest {
  system: string;
  memory: readonly ChatMessage[];
  /** This turn's user text (for a proactive turn: the hidden prompt). */
  userText: string;
  images: readonly ImageInput[];
}

/**
 * A configured LLM endpoint. Stateless (it holds settings, not conversations), so sessions may share one; every call
 * takes the actor's abort signal, and aborting closes the HTTP request.
 */
export interface LlmEngine {
  readonly provider: string;
  stream(request: LlmRequest, onText: (text: string) => void, signal: AbortSignal): Promise<void>;
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
