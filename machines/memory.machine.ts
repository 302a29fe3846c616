import { assign, fromPromise, setup } from 'xstate';

/**
 * Long-term memory's indexing, one job at a time: a server child (systemId `memory`) that keeps each character's
 * memory index in step with its history files. The history store tells it of every history written or deleted
 * (`memory.changed`); at start it reconciles every character's folder with its index (files added, edited or deleted
 * while the server was not running).
 *
 *   idle ⇄ working (invokes `runJob` for the oldest job, within `jobDeadlineMs`)
 *
 * The queue is bounded: past `maxQueued` a job is dropped and, unless one is waiting already, a reconcile of its
 * character takes its place at the end (it finds whatever the dropped jobs would have). A job that is already waiting
 * is not queued twice. Searching is not a job: it reads the index directly, never behind the queue.
 */

export const MEMORY_SYSTEM_ID = 'memory';

export type MemoryJob =
  /** A history was written: its new messages are indexed (the character's first job reconciles its whole folder). */
  | { kind: 'sync'; confUid: string; historyUid: string }
  /** memory.extract: the model learns facts about the user from what a history gained (after its sync). */
  | { kind: 'extract'; confUid: string; historyUid: string }
  /** memory.embeddings: the character's messages without an embedding get one. */
  | { kind: 'embed'; confUid: string }
  /** A history was deleted: its messages are forgotten. */
  | { kind: 'forget'; confUid: string; historyUid: string }
  /** The character's folder and its index are compared, file by file. */
  | { kind: 'reconcile'; confUid: string };

export type MemoryEvent =
  | { type: 'memory.changed'; confUid: string; historyUid: string; deleted: boolean }
  | { type: 'memory.reconcile'; confUid: string };

export interface MemoryInput {
  /** Jobs waiting at most (the one running included). */
  maxQueued: number;
  /** How long one job may run before it is abandoned (the next reconcile picks up where it stopped). */
  jobDeadlineMs: number;
  /** Characters whose folders are reconciled at start. */
  characters: string[];
  /** memory.extract: each history written is also learned from, after it is indexed. */
  extract?: boolean;
  /** memory.embeddings: each character's new messages are embedded, after they are indexed. */
  embed?: boolean;
}

export interface MemoryContext {
  queue: MemoryJob[];
  maxQueued: number;
  jobDeadlineMs: number;
  /** Jobs dropped because the queue was full (a reconcile took their place). */
  dropped: number;
  extract: boolean;
  embed: boolean;
}

const sameJob = (a: MemoryJob, b: MemoryJob) =>
  a.kind === b.kind && a.confUid === b.confUid && (!('historyUid' in a) || a.historyUid === (b as { historyUid: string }).historyUid);

/** The queue with `job` added: the head is running, so only the jobs waiting behind it are compared with it. */
export function enqueueJob(context: Pick<MemoryContext, 'queue' | 'maxQueued' | 'dropped'>, job: MemoryJob): Pick<MemoryContext, 'queue' | 'dropped'> {
  const [head, ...waiting] = context.queue;
  if (waiting.some((j) => sameJob(j, job))) return { queue: context.queue, dropped: context.dropped };
  if (context.queue.length < context.maxQueued) return { queue: [...context.queue, job], dropped: context.dropped };
  const reconcile: MemoryJob = { kind: 'reconcile', confUid: job.confUid };
  const queue = waiting.some((j) => sameJob(j, reconcile)) ? context.queue : [...(head ? [head] : []), ...waiting, reconcile];
  return { queue, dropped: context.dropped + 1 };
}

/** The jobs an event asks for, in order. */
function jobsOf(event: MemoryEvent, options: { extract: boolean; embed: boolean }): MemoryJob[] {
  const { confUid } = event;
  const embed: MemoryJob[] = options.embed ? [{ kind: 'embed', confUid }] : [];
  if (event.type === 'memory.reconcile') return [{ kind: 'reconcile', confUid }, ...embed];
  const { historyUid } = event;
  if (event.deleted) return [{ kind: 'forget', confUid, historyUid }];
  const extract: MemoryJob[] = options.extract ? [{ kind: 'extract', confUid, historyUid }] : [];
  return [{ kind: 'sync', confUid, historyUid }, ...extract, ...embed];
}

export const memoryMachine = setup({
  types: {
    context: {} as MemoryContext,
    events: {} as MemoryEvent,
    input: {} as MemoryInput,
  },
  actors: {
    /** Does one job on the index; stopping it (its deadline) abandons it between two files. */
    runJob: fromPromise<void, MemoryJob>(() => {
      throw new Error('actor "runJob" must be provided with machine.provide()');
    }),
  },
  actions: {
    addJob: assign(({ context, event }) => jobsOf(event, context).reduce((queued, job) => ({ ...queued, ...enqueueJob({ ...context, ...queued }, job) }), { queue: context.queue, dropped: context.dropped })),
    shift: assign({ queue: ({ context }) => context.queue.slice(1) }),
  },
  guards: {
    hasJobs: ({ context }) => context.queue.length > 0,
  },
  delays: {
    jobDeadline: ({ context }) => context.jobDeadlineMs,
  },
}).createMachine({
  id: 'memory',
  context: ({ input }) => ({
    queue: input.characters.flatMap((confUid): MemoryJob[] => [{ kind: 'reconcile', confUid }, ...(input.embed ? [{ kind: 'embed' as const, confUid }] : [])]),
    maxQueued: Math.max(1, input.maxQueued),
    jobDeadlineMs: input.jobDeadlineMs,
    dropped: 0,
    extract: input.extract ?? false,
    embed: input.embed ?? false,
  }),
  on: {
    'memory.changed': { actions: 'addJob' },
    'memory.reconcile': { actions: 'addJob' },
  },
  initial: 'idle',
  states: {
    idle: {
      always: { guard: 'hasJobs', target: 'working' },
    },
    working: {
      invoke: {
        src: 'runJob',
        input: ({ context }) => context.queue[0]!,
        onDone: { target: 'idle', actions: 'shift' },
        // The job's own actor says what failed; the index is derived data, so the next job simply goes on.
        onError: { target: 'idle', actions: 'shift' },
      },
      after: { jobDeadline: { target: 'idle', actions: 'shift' } },
    },
  },
});
