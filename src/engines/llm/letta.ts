import { z } from 'zod';
import { postEventStream, readEventStream } from './event-stream.js';
import { LlmError, userPromptText } from './llm-engine.js';
import type { LlmEngine } from '../../../machines/engine-contracts.js';

/** Upstream's `agent_settings.letta_agent` block. */
export const lettaSchema = z.looseObject({
  host: z.string().min(1).default('localhost'),
  port: z.number().int().min(1).max(65535).default(8283),
  id: z.string().min(1),
  faster_first_response: z.boolean().default(true),
  segment_method: z.enum(['regex', 'pysbd']).default('pysbd'),
  /** This server's own: the server password of a Letta server started with SECURE=true (sent as a Bearer token). */
  api_key: z.string().optional(),
});

export interface LettaSettings {
  baseUrl: string;
  agentId: string;
  apiKey?: string;
}

interface LettaEvent {
  message_type?: string;
  content?: string | Array<{ type?: string; text?: string }>;
  error?: { message?: string; detail?: string } | string;
  detail?: string;
}

const contentText = (content: LettaEvent['content']) =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((part) => part.text ?? '').join('') : '';

/**
 * `letta_agent`: a Letta server keeps the agent and its memory, so only the user's words are sent:
 * `POST /v1/agents/{id}/messages/stream` with `stream_tokens: true`, the call upstream makes. The answer is
 * server-sent events; `assistant_message` pieces are the reply, reasoning and tool steps are not spoken, and
 * `[DONE]` ends it (a stream that stops before it was cut off).
 */
export function lettaEngine(settings: LettaSettings): LlmEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/v1/agents/${encodeURIComponent(settings.agentId)}/messages/stream`;
  return {
    provider: 'letta_agent',
    toolStyle: 'none',
    async stream(request, onText, signal) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
      if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
      const body = { messages: [{ role: 'user', content: userPromptText(request) }], stream_tokens: true };
      const res = await postEventStream(url, 'letta_agent', { headers, body }, signal);
      let done = false;
      await readEventStream(res, (event) => {
        if (event.data === '[DONE]') {
          done = true;
          return 'done';
        }
        let message: LettaEvent;
        try {
          message = JSON.parse(event.data);
        } catch {
          return new LlmError('letta_agent sent a malformed stream event');
        }
        if (message.error || message.message_type === 'error_message') {
          const detail = typeof message.error === 'string' ? message.error : (message.error?.message ?? message.error?.detail ?? message.detail ?? contentText(message.content));
          return new LlmError(`letta_agent: ${detail || 'error in the stream'}`);
        }
        if (message.message_type === 'assistant_message') {
          const text = contentText(message.content);
          if (text) onText(text);
        }
        return 'continue';
      });
      if (!done && !signal.aborted) throw new LlmError('letta_agent: the stream was cut off before [DONE]');
    },
  };
}
