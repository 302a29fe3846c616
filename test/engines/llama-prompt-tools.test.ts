import { createActor, fromCallback } from 'xstate';
import type { SessionContext } from '../../machines/session-contract.js';
import { turnInput } from '../../machines/session-turn-input.js';
import { llamaChatHistory } from '../../src/engines/llm/llama-cpp.js';
import type { LlmRequest } from '../../src/engines/llm/llm-request.js';

/**
 * MCP tools with a model run in the server: a GGUF's own tool-call format differs from model to model, so
 * llama_cpp_llm takes tools as JSON in its reply (the turn's prompt mode) from the first turn on, and its chat carries
 * each tool round as the model's text and the results as the user's next message.
 */

describe('llama_cpp_llm and MCP tools: prompt mode', () => {
  test("a turn of an engine whose toolStyle is 'prompt' runs in prompt mode from the start; others keep the session's mode", () => {
    const toolbox = createActor(fromCallback(() => undefined)).start();
    const context = (toolStyle: string) =>
      ({
        clientUid: 'c1',
        trigger: { kind: 'text', text: 'hi', images: [] },
        toolMode: 'native',
        memory: [],
        clock: {},
        limits: { mcpMaxSteps: 3, mcpStartTimeoutMs: 1000, mcpCallTimeoutMs: 1000, ttsConcurrency: 2, playbackSlackMs: 0, historyWriteDeadlineMs: 1000, deadlines: {} },
        character: {
          config: { conf_name: 'mao', avatar: '', tts_preprocessor_config: {} },
          modelInfo: { emotionMap: {} },
          runtime: {
            llm: { provider: 'x', toolStyle },
            mcp: { servers: { time: { command: 'node', args: [] } }, promptTemplate: 'tools: [arguments]' },
            systemPrompt: 'You are Mao.',
          },
        },
      }) as unknown as SessionContext;
    expect(turnInput(context('prompt'), toolbox).tools?.mode).toBe('prompt');
    expect(turnInput(context('openai'), toolbox).tools?.mode).toBe('native');
    toolbox.stop();
  });

  test('the chat: persona, memory, the user, then each tool round (the JSON written, the results), then the reply to come', () => {
    const request: LlmRequest = {
      system: 'You are Mao. Tools: time.now',
      memory: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
      ],
      userText: 'What time is it?',
      images: [],
      rounds: [
        {
          mode: 'prompt',
          text: '{"mcp_server": "time", "tool": "now", "arguments": {}}',
          calls: [{ id: 'call-1', name: 'now', arguments: '{}', server: 'time' }],
          results: [{ id: 'call-1', content: '12:00', isError: false }],
        },
      ],
    };
    expect(llamaChatHistory(request)).toEqual([
      { type: 'system', text: 'You are Mao. Tools: time.now' },
      { type: 'user', text: 'Hi' },
      { type: 'model', response: ['Hello!'] },
      { type: 'user', text: 'What time is it?' },
      { type: 'model', response: ['{"mcp_server": "time", "tool": "now", "arguments": {}}'] },
      { type: 'user', text: 'Result of now: 12:00' },
      { type: 'model', response: [] },
    ]);
  });
});
