import { postEventStream, readEventStream } from './event-stream.js';
import { LlmError, usableImages, userPromptText, type LlmEngine, type LlmRequest } from './llm-engine.js';

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
      const res = await postEventStream(url, settings.provider, { headers, body: chatCompletionBody(settings, request) }, signal);
      await readEventStream(res, (event) => {
        if (event.data === '[DONE]') return 'done';
        let chunk: { choices?: Array<{ delta?: { content?: string | null } }>; error?: { message?: string } };
        try {
          chunk = JSON.parse(event.data);
        } catch {
          return new LlmError(`${settings.provider} sent a malformed stream chunk`);
        }
        if (chunk.error) return new LlmError(`${settings.provider}: ${chunk.error.message ?? 'error in the stream'}`);
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) onText(text);
        return 'continue';
      });
    },
  };
}
