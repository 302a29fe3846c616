import type { LocalModelSpec } from '../../machines/local-model-contract.js';

/** A local model's settings as the machine tests use them: a tiny file, two sequences, one request queued at most. */
export const TEST_MODEL_SPEC: LocalModelSpec = {
  provider: 'llama_cpp_llm',
  file: '/models/tiny.gguf',
  contextSize: 512,
  threads: 1,
  gpuLayers: 0,
  sequences: 2,
  maxQueued: 1,
  keepAliveMs: 300_000,
  verbose: false,
};
