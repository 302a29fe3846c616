import os from 'node:os';

/**
 * How the machine's cores are shared by the engines that compute in this server, when the configuration leaves
 * threads to us: one core stays for the event loop (every session's frames), speech (sherpa-onnx) gets about a
 * quarter, and the language model (llama.cpp) the rest, never less than one thread each. On 2 cores that is one
 * thread for the model and one for speech: the voice synthesises sentence 1 while the model writes sentence 2.
 */
export function cpuShares(cores = os.availableParallelism()): { llm: number; speech: number } {
  const speech = Math.max(1, Math.floor(cores / 4));
  return { llm: Math.max(1, cores - speech - 1), speech };
}

/** A llama.cpp `threads` setting: 'auto' is the model's share of the cores. */
export const llamaThreads = (setting: 'auto' | number): number => (setting === 'auto' ? cpuShares().llm : setting);

/**
 * The nice value of the engines' compute (the model process, speech programs and threads): on a machine with as
 * many busy engine threads as cores, the kernel still runs the event loop first, so one user's inference never
 * stalls another user's frames. Lower priority costs the engines nothing when a core is free.
 */
export const ENGINE_NICE = 10;

/** Lowers a process (or, on Linux, with 0: the calling thread) to ENGINE_NICE; a platform that refuses is left as is. */
export function runAsEngine(pid = 0): void {
  try {
    os.setPriority(pid, ENGINE_NICE);
  } catch {
    // not permitted here: the engine runs at normal priority
  }
}
