import { readdirSync } from 'node:fs';
import { fromPromise } from 'xstate';
import type { MemoryInput, MemoryJob } from '../../machines/memory.machine.js';
import type { RecallRequest } from '../../machines/turn-contract.js';
import type { AppConfig } from '../config/app-config.js';
import type { Logger } from '../observability/logger.js';
import type { MemoryIndex } from './memory-index.js';
import { recallText } from './memory-query.js';
import type { Distil } from './memory-extract.js';
import { createEmbed, type Embed } from './memory-embeddings.js';
import { createEmbeddingModelActor, LocalEmbeddingModel, localEmbeddingSpec } from './local-embeddings.js';
import path from 'node:path';

/** memory.embeddings, when configured: the model's name (vectors are kept per model) and the service. */
export interface Embedder {
  model: string;
  embed: Embed;
}

/**
 * memory.embeddings as configured: a service, or a GGUF model run here (then also the memory actor's
 * `embeddingModel` child that owns its process); nothing when embeddings are off.
 */
export function memoryEmbedder(app: AppConfig, logger: Logger): { embedder?: Embedder; embeddingModel?: ReturnType<typeof createEmbeddingModelActor> } {
  const settings = app.system.memory.embeddings;
  if (!settings) return {};
  if (settings.model_path) {
    const spec = localEmbeddingSpec({ ...settings, model_path: settings.model_path }, app.paths.root);
    const holder = new LocalEmbeddingModel();
    return { embedder: { model: path.basename(spec.file), embed: holder.embed }, embeddingModel: createEmbeddingModelActor(holder, spec, logger) };
  }
  return { embedder: { model: settings.model!, embed: createEmbed({ ...settings, base_url: settings.base_url!, model: settings.model! }) } };
}

/** Logs each distinct warning once per process. */
function warnOnce(logger: Logger) {
  const said = new Set<string>();
  return (message: string, log: Logger = logger) => {
    if (said.has(message)) return;
    said.add(message);
    log.warn(message);
  };
}

/** The memory actor's input: system_config.memory's bounds, and every character folder, reconciled at start. */
export function memoryInput(app: AppConfig): MemoryInput {
  let characters: string[] = [];
  try {
    characters = readdirSync(app.paths.chatHistory, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name);
  } catch {
    // No chat_history/ yet: nothing to reconcile.
  }
  const { max_queued_jobs, job_timeout_seconds, extract, embeddings } = app.system.memory;
  return { maxQueued: max_queued_jobs, jobDeadlineMs: job_timeout_seconds * 1000, characters, extract, embed: embeddings !== null, localEmbedding: Boolean(embeddings?.model_path) };
}

/** What a job works on, for its log lines. */
const jobSubject = (job: MemoryJob) => ('historyUid' in job ? `history ${job.historyUid} of ${job.confUid}` : `the histories of ${job.confUid}`);

/** The memory machine's `runJob`: one job on the index; a failure is logged (the index is derived data). */
export function createMemoryJob(index: MemoryIndex, logger: Logger, options: { distil?: Distil; embedder?: Embedder } = {}) {
  const warn = warnOnce(logger);
  return fromPromise<void, MemoryJob>(async ({ input: job, signal }) => {
    try {
      if (job.kind === 'sync') await index.sync(job.confUid, job.historyUid, signal);
      else if (job.kind === 'forget') index.forget(job.confUid, job.historyUid);
      else if (job.kind === 'extract') await (options.distil ? index.extract(job.confUid, job.historyUid, options.distil, signal) : undefined);
      else if (job.kind === 'embed') await (options.embedder ? index.embedMissing(job.confUid, options.embedder.model, options.embedder.embed, signal) : undefined);
      else await index.reconcile(job.confUid, signal);
    } catch (err) {
      const doing = job.kind === 'extract' ? 'learning from' : job.kind === 'embed' ? 'embedding' : 'indexing';
      if (signal.aborted) logger.warn(`memory: ${doing} ${jobSubject(job)} was stopped (past system_config.memory.job_timeout_seconds, or the server stopping); the next job goes on with it`);
      // A broken embedding service is said once, not at every turn; recall stays lexical meanwhile.
      else if (job.kind === 'embed') warn(`memory: embedding failed (${(err as Error).message}); recall is lexical until the service answers`);
      else logger.warn(`memory: ${doing} ${jobSubject(job)} failed: ${(err as Error).message}`);
      throw err;
    }
  });
}

/**
 * The turn's `recallMemories`: the character's messages that best match the user's words, from its other
 * conversations (lexical, and fused with the nearest embeddings when memory.embeddings is set), and what it learned,
 * as the system text for the prompt. Never fails a turn: a failure is one logged warning (per kind of failure) and
 * no memories; an embedding service that fails or is slow leaves the lexical recall.
 */
export function createRecallMemories(index: MemoryIndex, logger: Logger, embedder?: Embedder) {
  const warn = warnOnce(logger);
  return fromPromise<string, RecallRequest>(async ({ input, signal }) => {
    const log = logger.child({ client_uid: input.clientUid });
    let query: { model: string; vector: Float32Array } | undefined;
    if (embedder) {
      try {
        // Within most of the recall's bound, so that the lexical recall still arrives in time.
        const bound = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.floor(input.deadlineMs * 0.75)))]);
        const [vector] = await embedder.embed([input.query], bound);
        if (vector) query = { model: embedder.model, vector };
      } catch (err) {
        if (signal.aborted) return '';
        warn(`memory: the query could not be embedded (${(err as Error).message}); recall is lexical meanwhile`, log);
      }
    }
    try {
      const exclude = input.historyUid ?? undefined;
      const { facts, hits } = index.recall(input.confUid, input.query, input.topK, exclude, query);
      return recallText(hits, input.maxCharacters, input.names, facts);
    } catch (err) {
      warn(`memory: nothing recalled (${(err as Error).message}); turns go on without memories`, log);
      return '';
    }
  });
}
