import { postEventStream, readEventStream } from './event-stream.js';
import type { EngineResponse } from '../engine-http.js';
import { LlmError, promptRoundMessages, ToolsUnsupportedError, usableImages, userPromptText } from './llm-engine.js';
import type { LlmEngine } from '../../../machines/engine-contracts.js';
import type { LlmRequest, ToolCallRequest, ToolDefinition, ToolRound } from './llm-request.js';

export interface OpenAiCompatibleSettings {
  provider: string;
  baseUrl: string;
  apiKey: string;
  model: string;
  temperature: number;
  organizationId?: string | null;
  projectId?: string | null;
  /** Provider-specific fields sent with every request (Ollama's `keep_alive`). */
  extraBody?: Record<string, unknown>;
}

/** A tool in the Chat Completions `tools` format; the server's JSON Schema is passed on whole. */
export function openAiTool(tool: ToolDefinition) {
  const schema = tool.inputSchema ?? {};
  return {
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description || 'No description provided.',
      parameters: { ...schema, type: 'object', properties: (schema.properties as object | undefined) ?? {} },
    },
  };
}

/** A tool round as Chat Completions messages: the assistant's calls, then one `tool` message per result. */
function roundMessages(round: ToolRound): unknown[] {
  if (round.mode === 'prompt') return promptRoundMessages(round);
  return [
    {
      role: 'assistant',
      content: round.text || null,
      tool_calls: round.calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
    },
    ...round.results.map((result) => ({ role: 'tool', tool_call_id: result.id, content: result.content })),
  ];
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
  const tools = request.tools ?? [];
  return {
    ...settings.extraBody,
    model: settings.model,
    stream: true,
    temperature: settings.temperature,
    messages: [{ role: 'system', content: request.system }, ...request.memory, user, ...(request.rounds ?? []).flatMap(roundMessages)],
    // An empty `tools` array is an error for OpenAI (docs/upstream-defects.md, U19): no tools, no parameter.
    ...(tools.length > 0 ? { tools: tools.map(openAiTool) } : {}),
  };
}

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** Streamed `tool_calls` deltas, put together by `index` (ids and names come once, arguments in pieces). */
class ToolCallAssembler {
  private readonly calls = new Map<number, ToolCallRequest>();

  add(deltas: ToolCallDelta[]): void {
    for (const [position, delta] of deltas.entries()) {
      const index = delta.index ?? position;
      const call = this.calls.get(index) ?? { id: '', name: '', arguments: '' };
      if (delta.id) call.id = delta.id;
      if (delta.function?.name) call.name += delta.function.name;
      if (delta.function?.arguments) call.arguments += delta.function.arguments;
      this.calls.set(index, call);
    }
  }

  finish(): ToolCallRequest[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }));
  }
}

/**
 * OpenAI-compatible chat completions with server-sent events: OpenAI, Ollama, LM Studio, Gemini, DeepSeek, Groq,
 * Mistral, Zhipu, llama.cpp server, vLLM… Errors are thrown as LlmError, never returned as reply text (docs/upstream-defects.md, U14).
 * A model that refuses `tools` raises ToolsUnsupportedError, so the turn can ask again in prompt mode.
 */
export function openAiCompatibleEngine(settings: OpenAiCompatibleSettings): LlmEngine {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return {
    provider: settings.provider,
    toolStyle: 'openai',
    async stream(request, onText, signal, options) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
      if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
      if (settings.organizationId) headers['openai-organization'] = settings.organizationId;
      if (settings.projectId) headers['openai-project'] = settings.projectId;
      let res: EngineResponse;
      try {
        res = await postEventStream(url, settings.provider, { headers, body: chatCompletionBody(settings, request) }, signal, options);
      } catch (err) {
        if ((request.tools?.length ?? 0) > 0 && err instanceof LlmError && /does not support tools|tools? (are|is) not supported/i.test(err.message)) {
          throw new ToolsUnsupportedError(err.message);
        }
        throw err;
      }
      const toolCalls = new ToolCallAssembler();
      await readEventStream(res, (event) => {
        if (event.data === '[DONE]') return 'done';
        let chunk: {
          choices?: Array<{ delta?: { content?: string | null; tool_calls?: ToolCallDelta[] } }>;
          error?: { message?: string };
        };
        try {
          chunk = JSON.parse(event.data);
        } catch {
          return new LlmError(`${settings.provider} sent a malformed stream chunk`);
        }
        if (chunk.error) return new LlmError(`${settings.provider}: ${chunk.error.message ?? 'error in the stream'}`);
        const delta = chunk.choices?.[0]?.delta;
        if (delta?.content) onText(delta.content);
        if (Array.isArray(delta?.tool_calls)) toolCalls.add(delta.tool_calls);
        return 'continue';
      });
      return { toolCalls: toolCalls.finish() };
    },
  };
}
