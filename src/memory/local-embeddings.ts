import path from 'node:path';
import { fromCallback, type EventObject } from 'xstate';
import type { LoadedModel, LocalModelSpec } from '../../machines/local-model-contract.js';
import { llamaThreads } from '../engines/cpu-shares.js';
import { runModelProcess } from '../engines/llama/llama-model-actor.js';
import type { Logger } from '../observability/logger.js';
import { normalise, type Embed } from './memory-embeddings.js';

/** memory.embeddings with `model_path`: a GGUF embedding model, run here by llama.cpp in a model process of its own. */
export interface LocalEmbeddingsSettings {
  model_path: string;
  context_size: number;
  threads: 'auto' | number;
  gpu_layers: 'auto' | number;
}

/** After the model process ends unexpectedly, how long before it is started again. */
const RESTART_MS = 30_000;

export function localEmbeddingSpec(settings: LocalEmbeddingsSettings, root: string): LocalModelSpec {
  return {
    provider: 'memory.embeddings',
    file: path.resolve(root, settings.model_path),
    contextSize: settings.context_size,
    threads: llamaThreads(settings.threads),
    gpuLayers: settings.gpu_layers,
    sequences: 1,
    maxQueued: 1,
    keepAliveMs: null,
    verbose: false,
    embedding: true,
  };
}

/**
 * The loaded embedding model as memory's jobs and recalls reach it. It holds a reference only: the model process
 * belongs to the memory actor's `embeddingModel` child (below), which attaches the model once loaded and detaches it
 * when the process ends. While the model loads, `embed` waits for it within its caller's deadline (a job waits; a
 * recall gives up at its bound and recalls by words); once loading failed or the process ended, it fails at once.
 */
export class LocalEmbeddingModel {
  private model: LoadedModel | null = null;
  /** Why there is no model to embed with (null while one loads). */
  private failure: string | null = null;
  /** Callers waiting for the load; each leaves at its own deadline. */
  private readonly waiting = new Set<() => void>();

  attach(model: LoadedModel): void {
    this.model = model;
    this.failure = null;
    for (const check of [...this.waiting]) check();
  }

  /** No model: `why` (or, with `loading`, one is on its way). */
  detach(why: string, loading = false): void {
    this.model = null;
    this.failure = loading ? null : why;
    for (const check of [...this.waiting]) check();
  }

  private loaded(signal: AbortSignal): Promise<LoadedModel> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.model && !this.failure && !signal.aborted) return;
        this.waiting.delete(check);
        signal.removeEventListener('abort', check);
        if (this.model) resolve(this.model);
        else reject(new Error(this.failure ?? 'the local embedding model did not load in time'));
      };
      this.waiting.add(check);
      signal.addEventListener('abort', check, { once: true });
      check();
    });
  }

  readonly embed: Embed = async (texts, signal) => {
    if (texts.length === 0) return [];
    const model = await this.loaded(signal);
    return (await model.embed(texts, signal)).map(normalise);
  };
}

/**
 * The memory actor's `embeddingModel` child: starts the model process at once (an embedding model is small and a
 * recall cannot wait for a load), keeps it while the server runs, starts it again RESTART_MS after it ends
 * unexpectedly, and ends it when stopped.
 */
export function createEmbeddingModelActor(holder: LocalEmbeddingModel, spec: LocalModelSpec, logger: Logger) {
  return fromCallback<EventObject>(() => {
    let restart: NodeJS.Timeout | undefined;
    let stopProcess = () => {};
    const start = () => {
      holder.detach('loading', true);
      stopProcess = runModelProcess(spec, logger, (event) => {
        if (event.type === 'model.loaded') holder.attach(event.model);
        else if (event.type === 'model.failed') {
          holder.detach(event.message);
          logger.warn(`${event.message}; memory recalls by words meanwhile`);
        } else if (event.type === 'model.exited') {
          holder.detach(event.message);
          restart = setTimeout(start, RESTART_MS);
        }
      });
    };
    start();
    return () => {
      clearTimeout(restart);
      holder.detach('the server is stopping');
      stopProcess();
    };
  });
}
