import type { ChatMessage } from '../../agent/chat-memory.js';
import { postEventStream, readEventStream } from './event-stream.js';
import { LlmError, usableImages, userPromptText, type LlmEngine, type LlmRequest } from './llm-engine.js';

export interface ClaudeSettings {
  baseUrl: string;
  apiKey: string;
  model: string;
  maxTokens: number;
}

type ClaudeContent = string | Array<Record<string, unknown>>;
interface ClaudeMessage {
  role: 'user' | 'assistant';
  content: ClaudeContent;
}

/**
 * The Messages API wants alternating user/assistant turns starting with the user. Memory may hold `system` markers
 * (interrupts) and back-to-back assistant entries (a proactive reply): markers become user text, neighbours merge.
 */
export function claudeMessages(memory: readonly ChatMessage[]): ClaudeMessage[] {
  const out: Array<{ role: 'user' | 'assistant'; content: string }> = [];
  for (const message of memory) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const last = out[out.length - 1];
    if (last && last.role === role) last.content += `\n${message.content}`;
    else out.push({ role, content: message.content });
  }
  if (out[0]?.role === 'assistant') out.unshift({ role: 'user', content: '(conversation start)' });
  return out;
}

export function claudeRequestBody(settings: ClaudeSettings, request: LlmRequest) {
  const images = usableImages(request).map((image) => {
    const match = /^data:([^;,]+);base64,(.*)$/s.exec(image.data);
    return { type: 'image', source: { type: 'base64', media_type: match?.[1] ?? 'image/jpeg', data: match?.[2] ?? '' } };
  });
  const messages = claudeMessages(request.memory);
  const userContent: ClaudeContent = images.length > 0 ? [{ type: 'text', text: userPromptText(request) }, ...images] : userPromptText(request);
  const last = messages[messages.length - 1];
  if (last?.role === 'user' && typeof userContent === 'string') last.content = `${String(last.content)}\n${userContent}`;
  else messages.push({ role: 'user', content: userContent });
  return { model: settings.model, max_tokens: settings.maxTokens, system: request.system, stream: true, messages };
}

/** Anthropic's Messages API, streaming (`content_block_delta` text deltas until `message_stop`). */
export function claudeEngine(settings: ClaudeSettings): LlmEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/v1/messages`;
  return {
    provider: 'claude_llm',
    async stream(request, onText, signal) {
      const headers = {
        'content-type': 'application/json',
        'x-api-key': settings.apiKey,
        'anthropic-version': '2023-06-01',
        accept: 'text/event-stream',
      };
      const res = await postEventStream(url, 'claude_llm', { headers, body: claudeRequestBody(settings, request) }, signal);
      await readEventStream(res, (event) => {
        let data: { type?: string; delta?: { type?: string; text?: string }; error?: { message?: string } };
        try {
          data = JSON.parse(event.data);
        } catch {
          return new LlmError('claude_llm sent a malformed stream event');
        }
        const type = data.type ?? event.event;
        if (type === 'content_block_delta' && data.delta?.type === 'text_delta' && data.delta.text) onText(data.delta.text);
        else if (type === 'message_stop') return 'done';
        else if (type === 'error') return new LlmError(`claude_llm: ${data.error?.message ?? 'error in the stream'}`);
        return 'continue';
      });
    },
  };
}
