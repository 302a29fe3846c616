import { createParser, type EventSourceMessage } from 'eventsource-parser';
import {
  bodyText,
  describeFetchError,
  LlmError,
  readErrorBody,
  usableImages,
  userPromptText,
  type LlmEngine,
  type LlmRequest,
} from './llm-engine.js';

export interface OpenAiCompatibleSettings {
  provider: string;
  baseUrl: string;
  apiKey: string;
  model: string;
  temperature: number;
  organizationId?: string | null;
  projectId?: string | null;
}

/** The request body of `POST /chat/completions` (streaming). */
export function chatCompletionBody(settings: OpenAiCompatibleSettings, request: LlmRequest) {
  const images = usableImages(request);
  const text = userPromptText(request);
  const user =
    images.length === 0
      ? { role: 'user', content: text }
      : {
          role: 'user',
          content: [
            { type: 'text', text },
            ...images.map((image) => ({ type: 'image_url', image_url: { url: image.data, detail: 'auto' } })),
          ],
        };
  return {
    model: settings.model,
    stream: true,
    temperature: settings.temperature,
    messages: [{ role: 'system', content: request.system }, ...request.memory, user],
  };
}

/**
 * OpenAI-compatible chat completions with server-sent events: OpenAI, Ollama, LM Studio, Gemini, DeepSeek, Groq,
 * Mistral, Zhipu, llama.cpp server, vLLM… Errors are thrown as LlmError, never returned as reply text (upstream §8 #12).
 */
export function openAiCompatibleEngine(settings: OpenAiCompatibleSettings): LlmEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return {
    provider: settings.provider,
    async stream(request, onText, signal) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
      if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
      if (settings.organizationId) headers['openai-organization'] = settings.organizationId;
      if (settings.projectId) headers['openai-project'] = settings.projectId;
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(chatCompletionBody(settings, request)), signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw describeFetchError(err, url);
      }
      if (!res.ok) throw new LlmError(`${settings.provider} answered HTTP ${res.status}: ${await readErrorBody(res)}`);

      let finished = false;
      let failure: LlmError | undefined;
      const parser = createParser({
        onEvent(event: EventSourceMessage) {
          if (finished || failure) return;
          if (event.data === '[DONE]') {
            finished = true;
            return;
          }
          let chunk: { choices?: Array<{ delta?: { content?: string | null } }>; error?: { message?: string } };
          try {
            chunk = JSON.parse(event.data);
          } catch {
            failure = new LlmError(`${settings.provider} sent a malformed stream chunk`);
            return;
          }
          if (chunk.error) {
            failure = new LlmError(`${settings.provider}: ${chunk.error.message ?? 'error in the stream'}`);
            return;
          }
          const text = chunk.choices?.[0]?.delta?.content;
          if (text) onText(text);
        },
      });
      for await (const text of bodyText(res)) {
        parser.feed(text);
        if (failure) throw failure;
        if (finished) break;
      }
      if (failure) throw failure;
    },
  };
}
