import { readdirSync } from 'node:fs';
import { fromPromise } from 'xstate';
import type { MemoryInput, MemoryJob } from '../../machines/memory.machine.js';
import type { RecallRequest } from '../../machines/turn-contract.js';
import type { AppConfig } from '../config/app-config.js';
import type { Logger } from '../observability/logger.js';
import type { MemoryIndex } from './memory-index.js';
import { recallText } from './memory-query.js';
import type { Distil } from './memory-extract.js';

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
  const { max_queued_jobs, job_timeout_seconds, extract } = app.system.memory;
  return { maxQueued: max_queued_jobs, jobDeadlineMs: job_timeout_seconds * 1000, characters, extract };
}

/** The memory machine's `runJob`: one job on the index; a failure is logged (the index is derived data). */
export function createMemoryJob(index: MemoryIndex, logger: Logger, distil?: Distil) {
  return fromPromise<void, MemoryJob>(async ({ input: job, signal }) => {
    try {
      if (job.kind === 'sync') await index.sync(job.confUid, job.historyUid, signal);
      else if (job.kind === 'forget') index.forget(job.confUid, job.historyUid);
      else if (job.kind === 'extract') await (distil ? index.extract(job.confUid, job.historyUid, distil, signal) : undefined);
      else await index.reconcile(job.confUid, signal);
    } catch (err) {
      const what = job.kind === 'reconcile' ? `the histories of ${job.confUid}` : `history ${job.historyUid} of ${job.confUid}`;
      const doing = job.kind === 'extract' ? 'learning from' : 'indexing';
      if (signal.aborted) logger.warn(`memory: ${doing} ${what} was stopped (past system_config.memory.job_timeout_seconds, or the server stopping); the next job goes on with it`);
      else logger.warn(`memory: ${doing} ${what} failed: ${(err as Error).message}`);
      throw err;
    }
  });
}

/**
 * The turn's `recallMemories`: the character's messages that best match the user's words, from its other
 * conversations, as the system text for the prompt. Never fails a turn: a failure is one logged warning (per kind of
 * failure) and no memories.
 */
export function createRecallMemories(index: MemoryIndex, logger: Logger) {
  const warned = new Set<string>();
  return fromPromise<string, RecallRequest>(async ({ input }) => {
    try {
      const exclude = input.historyUid ?? undefined;
      const facts = index.searchFacts(input.confUid, input.query, input.topK, exclude);
      const hits = index.search(input.confUid, input.query, input.topK, exclude);
      return recallText(hits, input.maxCharacters, input.names, facts);
    } catch (err) {
      const message = (err as Error).message;
      if (!warned.has(message)) {
        warned.add(message);
        logger.child({ client_uid: input.clientUid }).warn(`memory: nothing recalled (${message}); turns go on without memories`);
      }
      return '';
    }
  });
}
