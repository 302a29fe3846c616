import path from 'node:path';
import { z } from 'zod';
import type { LlmEngine } from '../../../machines/engine-contracts.js';
import type { GenerateJob, LocalModelSpec } from '../../../machines/local-model-contract.js';
import { llamaThreads } from '../cpu-shares.js';
import type { ModelFiles } from '../model-files.js';
import { keepAliveMs } from './keep-alive.js';
import { LlmError, promptRoundMessages, userPromptText } from './llm-engine.js';
import type { LlmRequest } from './llm-request.js';

/**
 * `llama_cpp_llm`: a GGUF model run by this server itself (llama.cpp through node-llama-cpp). Upstream's keys
 * (`model_path`, `verbose`) plus what running it well needs. The chat template is the model's own (GGUF metadata).
 */
export const llamaCppSchema = z.looseObject({
  model_path: z.string().min(1),
  verbose: z.boolean().default(false),
  /** Tokens per reply's sequence: the prompt (persona, history) and the reply together. */
  context_size: z.number().int().min(64).max(1_048_576).default(4096),
  /** CPU threads for decoding; 'auto' leaves one core to the server and some to speech (src/engines/cpu-shares.ts). */
  threads: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
  /** Layers on the GPU: 'auto' fits what the GPU holds (none without a GPU); 0 keeps the model on the CPU. */
  gpu_layers: z.union([z.literal('auto'), z.number().int().min(0)]).default('auto'),
  /** Replies decoded at once (sessions sharing the model); more wait, up to max_queued, in order. */
  parallel: z.number().int().min(1).max(16).default(2),
  max_queued: z.number().int().min(0).max(1000).default(16),
  /** Ollama's meaning: seconds (or "5m") the model stays loaded after its last reply; -1 until the server stops. */
  keep_alive: z
    .union([z.number(), z.string()])
    .default(-1)
    .refine((v) => keepAliveMs(v) !== undefined, 'expected seconds (e.g. 300), a duration such as "5m", or -1 for "never unload"'),
  temperature: z.number().min(0).max(2).default(0.7),
  /** The longest reply, in tokens. */
  max_tokens: z.number().int().min(1).max(32768).default(512),
  /** Fixes the sampling (the same prompt gives the same reply); unset: a new draw each time. */
  seed: z.number().int().optional(),
  interrupt_method: z.enum(['system', 'user']).optional(),
});

export type LlamaCppConfig = z.output<typeof llamaCppSchema>;

/** The load settings of a block; relative model paths start at `root` (where the server runs, as upstream). */
export function llamaModelSpec(c: LlamaCppConfig, root: string): LocalModelSpec {
  return {
    provider: 'llama_cpp_llm',
    file: path.resolve(root, c.model_path),
    contextSize: c.context_size,
    threads: llamaThreads(c.threads),
    gpuLayers: c.gpu_layers,
    sequences: c.parallel,
    maxQueued: c.max_queued,
    keepAliveMs: keepAliveMs(c.keep_alive)!,
    verbose: c.verbose,
  };
}

/** The turn's request as a chat for node-llama-cpp: persona, memory, this turn's text. */
export function llamaChatHistory(request: LlmRequest): GenerateJob['history'] {
  const history: GenerateJob['history'] = [];
  if (request.system) history.push({ type: 'system', text: request.system });
  for (const message of request.memory) {
    if (message.role === 'assistant') history.push({ type: 'model', response: [message.content] });
    else history.push({ type: message.role, text: message.content });
  }
  history.push({ type: 'user', text: userPromptText(request) });
  // This turn's tool rounds: what the model wrote with its JSON, then the results as the user's next message.
  for (const round of request.rounds ?? []) {
    for (const message of promptRoundMessages(round)) {
      if (message.role === 'assistant') history.push({ type: 'model', response: [message.content] });
      else history.push({ type: 'user', text: message.content });
    }
  }
  history.push({ type: 'model', response: [] });
  return history;
}

export function llamaCppEngine(c: LlamaCppConfig, root: string): LlmEngine & ModelFiles & { readonly local: LocalModelSpec } {
  const spec = llamaModelSpec(c, root);
  return {
    provider: 'llama_cpp_llm',
    // MCP tools as JSON in the reply (the turn's prompt mode): a GGUF's own tool format differs from model to model.
    toolStyle: 'prompt',
    local: spec,
    modelFiles: [spec.file],
    async stream(request, onText, signal, options) {
      if (!options?.localModels) throw new LlmError(`llama_cpp_llm: this server has no local model runner here`);
      const lease = await options.localModels.lease(spec, signal);
      try {
        const job: GenerateJob = {
          history: llamaChatHistory(request),
          maxTokens: c.max_tokens,
          temperature: c.temperature,
          ...(c.seed === undefined ? {} : { seed: c.seed }),
        };
        await lease.model.generate(lease.slot, job, onText, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new LlmError((err as Error).message);
      } finally {
        lease.release();
      }
    },
  };
}
