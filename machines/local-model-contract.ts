import type { AnyActorRef } from 'xstate';

/**
 * A model that runs inside this server (llama.cpp through node-llama-cpp), as the machines see it: one loaded copy
 * per model file, owned by a `localModel` actor under the server's `localModels` pool, shared by every session that
 * configures the same file. A turn borrows one of its sequences (a *lease*) for one reply and gives it back; the
 * implementation (the model process, the generation) is in src/engines/llama/.
 */

/** What loads a model: the same spec, the same loaded copy. */
export interface LocalModelSpec {
  /** The provider named in messages (`llama_cpp_llm`). */
  provider: string;
  /** Absolute path of the GGUF file. */
  file: string;
  /** Tokens each sequence can hold (prompt + reply). */
  contextSize: number;
  /** CPU threads llama.cpp decodes with. */
  threads: number;
  /** Layers offloaded to a GPU: 'auto' lets llama.cpp fit what the GPU holds; 0 keeps it on the CPU. */
  gpuLayers: 'auto' | number;
  /** Replies decoded at once (each in its own sequence); more wait in a queue of `maxQueued`. */
  sequences: number;
  maxQueued: number;
  /** How long the model stays loaded after its last use (Ollama's keep_alive); null: until the server stops. */
  keepAliveMs: number | null;
  /** llama.cpp's own log lines go to the server log. */
  verbose: boolean;
  /** Loaded to turn texts into vectors (memory.embeddings), not to write replies. */
  embedding?: boolean;
}

/** The spec's identity: sessions whose specs give the same key share one loaded model. */
export function localModelKey(spec: LocalModelSpec): string {
  return JSON.stringify([spec.file, spec.contextSize, spec.threads, spec.gpuLayers, spec.sequences, spec.embedding ?? false]);
}

/** One reply to generate in a leased sequence: a chat in node-llama-cpp's terms, already rendered by the engine. */
export interface GenerateJob {
  history: Array<{ type: 'system' | 'user'; text: string } | { type: 'model'; response: string[] }>;
  maxTokens: number;
  temperature: number;
  seed?: number;
}

export interface GenerateEnd {
  /** Why the reply ended: the model's end token, the token bound, or an abort. */
  stopReason: string;
  /** Tokens decoded for this reply. */
  tokens: number;
  /** Of them, decoded after the abort reached the model (the step that was running: 0 or 1). */
  afterAbort: number;
}

/** The loaded model, handed to a turn with its lease. Generation runs off the event loop (in the model's process). */
export interface LoadedModel {
  /** "qwen2.5-0.5b-instruct-q4_k_m.gguf (CPU, 1 thread)" for logs. */
  readonly description: string;
  generate(slot: number, job: GenerateJob, onText: (text: string) => void, signal: AbortSignal): Promise<GenerateEnd>;
  /** A model loaded for embeddings: one vector per text, in order (a text longer than the context is cut). */
  embed(texts: string[], signal: AbortSignal): Promise<number[][]>;
}

/** Why a lease could not be given: the model failed to load (or died), or too many replies were waiting. */
export type LeaseFailure = 'load' | 'busy';

/** Answers to a lease request, sent to its `replyTo`. */
export type LeaseReply =
  | { type: 'lease.granted'; leaseId: string; model: LoadedModel; slot: number }
  | { type: 'lease.failed'; leaseId: string; reason: LeaseFailure; message: string };

/** Requests to the pool (systemId `localModels`); replies come as LeaseReply. */
export type LocalModelsRequest =
  | { type: 'localModels.lease'; spec: LocalModelSpec; leaseId: string; replyTo: AnyActorRef }
  | { type: 'localModels.release'; spec: LocalModelSpec; leaseId: string };

export const LOCAL_MODELS_SYSTEM_ID = 'localModels';
