import type { ChatMessage } from '../../agent/chat-memory.js';
import { postEventStream, readEventStream } from './event-stream.js';
import { LlmError, promptRoundMessages, usableImages, userPromptText } from './llm-engine.js';
import type { LlmEngine } from '../../../machines/engine-contracts.js';
import type { LlmRequest, ToolCallRequest, ToolRound } from './llm-request.js';

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
  messages.push(...(request.rounds ?? []).flatMap(roundMessages));
  const tools = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description || 'No description provided.',
    input_schema: { ...tool.inputSchema, type: 'object' },
  }));
  return {
    model: settings.model,
    max_tokens: settings.maxTokens,
    system: request.system,
    stream: true,
    messages,
    ...(tools.length > 0 ? { tools } : {}),
  };
}

function parseInput(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A tool round as Messages API turns: the assistant's `tool_use` blocks, then the user's `tool_result` blocks. */
function roundMessages(round: ToolRound): ClaudeMessage[] {
  if (round.mode === 'prompt') return promptRoundMessages(round);
  return [
    {
      role: 'assistant',
      content: [
        // Whitespace-only text blocks are refused by the API.
        ...(round.text.trim() ? [{ type: 'text', text: round.text }] : []),
        ...round.calls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: parseInput(call.arguments) })),
      ],
    },
    {
      role: 'user',
      content: round.results.map((result) => ({ type: 'tool_result', tool_use_id: result.id, content: result.content, is_error: result.isError })),
    },
  ];
}

/**
 * Anthropic's Messages API, streaming: `text_delta`s are the reply; a `tool_use` block (started by
 * `content_block_start`, its input streamed as `input_json_delta`s) is a tool call.
 */
export function claudeEngine(settings: ClaudeSettings): LlmEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/v1/messages`;
  return {
    provider: 'claude_llm',
    toolStyle: 'claude',
    async stream(request, onText, signal, options) {
      const headers = {
        'content-type': 'application/json',
        'x-api-key': settings.apiKey,
        'anthropic-version': '2023-06-01',
        accept: 'text/event-stream',
      };
      const res = await postEventStream(url, 'claude_llm', { headers, body: claudeRequestBody(settings, request) }, signal, options);
      const calls = new Map<number, ToolCallRequest>();
      await readEventStream(res, (event) => {
        let data: {
          type?: string;
          index?: number;
          content_block?: { type?: string; id?: string; name?: string };
          delta?: { type?: string; text?: string; partial_json?: string };
          error?: { message?: string };
        };
        try {
          data = JSON.parse(event.data);
        } catch {
          return new LlmError('claude_llm sent a malformed stream event');
        }
        const type = data.type ?? event.event;
        const index = data.index ?? 0;
        if (type === 'content_block_delta' && data.delta?.type === 'text_delta' && data.delta.text) onText(data.delta.text);
        else if (type === 'content_block_start' && data.content_block?.type === 'tool_use') {
          calls.set(index, { id: data.content_block.id ?? `toolu_${index}`, name: data.content_block.name ?? '', arguments: '' });
        } else if (type === 'content_block_delta' && data.delta?.type === 'input_json_delta') {
          const call = calls.get(index);
          if (call) call.arguments += data.delta.partial_json ?? '';
        } else if (type === 'message_stop') return 'done';
        else if (type === 'error') return new LlmError(`claude_llm: ${data.error?.message ?? 'error in the stream'}`);
        return 'continue';
      });
      return { toolCalls: [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ ...call, arguments: call.arguments || '{}' })) };
    },
  };
}
