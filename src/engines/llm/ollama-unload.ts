import type { Logger } from '../../observability/logger.js';
import { engineRequest, networkErrorDetail } from '../engine-http.js';

export interface OllamaModel {
  /** The configured `base_url` (OpenAI-compatible, usually ending in /v1). */
  baseUrl: string;
  model: string;
}

/** Ollama's own API root: the OpenAI-compatible base URL without its `/v1`. */
export const ollamaRoot = (baseUrl: string) => baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');

/**
 * The Ollama models this server's characters use with `unload_at_exit` (upstream's default): a server-wide set of
 * endpoints and model names, not of clients, filled as characters are built and emptied at shutdown.
 */
export class OllamaModelsInUse {
  private readonly models = new Map<string, OllamaModel>();

  add(model: OllamaModel): void {
    this.models.set(`${ollamaRoot(model.baseUrl)}\n${model.model}`, model);
  }

  list(): OllamaModel[] {
    return [...this.models.values()];
  }
}

/**
 * Unloads each model with Ollama's own API (`POST /api/generate` with `keep_alive: 0`), all at once, and gives up
 * after `deadlineMs`: a stopped or unreachable Ollama never holds the shutdown.
 */
export async function unloadOllamaModels(models: readonly OllamaModel[], deadlineMs: number, logger: Logger): Promise<void> {
  if (models.length === 0) return;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
  try {
    await Promise.all(
      models.map(async ({ baseUrl, model }) => {
        const url = `${ollamaRoot(baseUrl)}/api/generate`;
        try {
          const res = await engineRequest(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model, keep_alive: 0 }),
            signal: controller.signal,
          });
          await res.arrayBuffer();
          if (res.ok) logger.info(`ollama_llm: unloaded ${model}`);
          else logger.warn(`ollama_llm: unloading ${model} answered HTTP ${res.status}`);
        } catch (err) {
          const reason = controller.signal.aborted ? (controller.signal.reason as Error).message : networkErrorDetail(err);
          logger.warn(`ollama_llm: could not unload ${model} at ${url} (${reason})`);
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}
