import { assign, enqueueActions, fromCallback, fromPromise, setup, type EventObject } from 'xstate';

/**
 * Long-term memory's indexing, one job at a time: a server child (systemId `memory`) that keeps each character's
 * memory index in step with its history files. The history store tells it of every history written or deleted
 * (`memory.changed`); at start it reconciles every character's folder with its index (files added, edited or deleted
 * while the server was not running).
 *
 *   idle ⇄ working (invokes `runJob` for the oldest job, within `jobDeadlineMs`)
 *   + `embeddingModel` (with memory.embeddings.model_path): the GGUF embedding model's process, as long as memory runs
 *
 * The queue is bounded: past `maxQueued` a job is dropped and, unless one is waiting already, a reconcile of its
 * character takes its place at the end (it finds whatever the dropped jobs would have). A job that is already waiting
 * is not queued twice. Searching is not a job: it reads the index directly, never behind the queue.
 *
 * Work done for sessions is theirs: an extraction or an embedding that a session's writes asked for names that
 * session (`for`), and `memory.sessionLeft` (the session switching character or disconnecting) takes it off every
 * job; a job left for nobody is dropped, and stopped if it is running. Nothing is lost by it: both resume from what
 * the index has done (the facts learned up to a message, the messages embedded) the next time that history or
 * character is written. Indexing a written file (`sync`), forgetting, reconciling and the work a change nobody's
 * session made asks for (`for: null`: files changed by hand, found at start) are the server's own and always run.
 */

export const MEMORY_SYSTEM_ID = 'memory';

/** The sessions a job is done for, or null: the server's own. */
export type JobOwners = string[] | null;

export type MemoryJob =
  /** A history was written: its new messages are indexed (the character's first job reconciles its whole folder). */
  | { kind: 'sync'; confUid: string; historyUid: string }
  /** memory.extract: the model learns facts about the user from what a history gained (after its sync). */
  | { kind: 'extract'; confUid: string; historyUid: string; for: JobOwners }
  /** memory.embeddings: the character's messages without an embedding get one. */
  | { kind: 'embed'; confUid: string; for: JobOwners }
  /** A history was deleted: its messages are forgotten. */
  | { kind: 'forget'; confUid: string; historyUid: string }
  /** The character's folder and its index are compared, file by file. */
  | { kind: 'reconcile'; confUid: string };

export type MemoryEvent =
  /** `by`: the session whose write it was (none for the server's own changes). */
  | { type: 'memory.changed'; confUid: string; historyUid: string; deleted: boolean; by?: string }
  | { type: 'memory.reconcile'; confUid: string }
  /** A session switched character or disconnected: the work done for it stops (see above). */
  | { type: 'memory.sessionLeft'; clientUid: string };

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
  /** memory.embeddings.model_path: the embedding model runs here, in the `embeddingModel` child. */
  localEmbedding?: boolean;
}

export interface MemoryContext {
  queue: MemoryJob[];
  maxQueued: number;
  jobDeadlineMs: number;
  /** Jobs dropped because the queue was full (a reconcile took their place). */
  dropped: number;
  extract: boolean;
  embed: boolean;
  localEmbedding: boolean;
}

const sameJob = (a: MemoryJob, b: MemoryJob) =>
  a.kind === b.kind && a.confUid === b.confUid && (!('historyUid' in a) || a.historyUid === (b as { historyUid: string }).historyUid);

/** Whom a job is for: sessions, the server (null), or undefined for the kinds that are always the server's. */
const ownersOf = (job: MemoryJob): JobOwners | undefined => ('for' in job ? job.for : undefined);

/** `job`, also done for whom `more` is done for (the server's need outlasts any session's). */
function joinOwners(job: MemoryJob, more: MemoryJob): MemoryJob {
  const [mine, theirs] = [ownersOf(job), ownersOf(more)];
  if (mine === undefined || mine === null || theirs === undefined) return job;
  const owners = theirs === null ? null : [...mine, ...theirs.filter((uid) => !mine.includes(uid))];
  return { ...job, for: owners } as MemoryJob;
}

/** The job no longer done for `clientUid`, or null when it was done for that session alone. */
export function withoutOwner(job: MemoryJob, clientUid: string): MemoryJob | null {
  const owners = ownersOf(job);
  if (!owners?.includes(clientUid)) return job;
  const rest = owners.filter((uid) => uid !== clientUid);
  return rest.length > 0 ? ({ ...job, for: rest } as MemoryJob) : null;
}

/** The queue with `job` added: the head is running, so only the jobs waiting behind it are compared with it. */
export function enqueueJob(context: Pick<MemoryContext, 'queue' | 'maxQueued' | 'dropped'>, job: MemoryJob): Pick<MemoryContext, 'queue' | 'dropped'> {
  const [head, ...waiting] = context.queue;
  const same = waiting.findIndex((j) => sameJob(j, job));
  if (same >= 0) return { queue: [head!, ...waiting.map((j, i) => (i === same ? joinOwners(j, job) : j))], dropped: context.dropped };
  if (context.queue.length < context.maxQueued) return { queue: [...context.queue, job], dropped: context.dropped };
  const reconcile: MemoryJob = { kind: 'reconcile', confUid: job.confUid };
  const queue = waiting.some((j) => sameJob(j, reconcile)) ? context.queue : [...(head ? [head] : []), ...waiting, reconcile];
  return { queue, dropped: context.dropped + 1 };
}

/** The jobs an event asks for, in order. */
function jobsOf(event: Exclude<MemoryEvent, { type: 'memory.sessionLeft' }>, options: { extract: boolean; embed: boolean }): MemoryJob[] {
  const { confUid } = event;
  const owners = event.type === 'memory.changed' && event.by ? [event.by] : null;
  const embed: MemoryJob[] = options.embed ? [{ kind: 'embed', confUid, for: owners }] : [];
  if (event.type === 'memory.reconcile') return [{ kind: 'reconcile', confUid }, ...embed];
  const { historyUid } = event;
  if (event.deleted) return [{ kind: 'forget', confUid, historyUid }];
  const extract: MemoryJob[] = options.extract ? [{ kind: 'extract', confUid, historyUid, for: owners }] : [];
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
    /** Owns the local embedding model's process (src/memory/local-embeddings.ts). */
    embeddingModel: fromCallback<EventObject>(() => {
      throw new Error('actor "embeddingModel" must be provided with machine.provide()');
    }),
  },
  actions: {
    startEmbeddingModel: enqueueActions(({ context, enqueue }) => {
      if (context.localEmbedding) enqueue.spawnChild('embeddingModel', { id: 'embeddingModel' });
    }),
    addJob: assign(({ context, event }) => (event.type === 'memory.sessionLeft' ? [] : jobsOf(event, context)).reduce((queued, job) => ({ ...queued, ...enqueueJob({ ...context, ...queued }, job) }), { queue: context.queue, dropped: context.dropped })),
    shift: assign({ queue: ({ context }) => context.queue.slice(1) }),
    /** The leaving session's name off every job; the waiting ones left for nobody go (the running one: see below). */
    dropSessionWork: assign({
      queue: ({ context, event }) => {
        if (event.type !== 'memory.sessionLeft') return context.queue;
        const [head, ...waiting] = context.queue;
        if (!head) return [];
        const kept = waiting.map((job) => withoutOwner(job, event.clientUid)).filter((job): job is MemoryJob => job !== null);
        return [withoutOwner(head, event.clientUid) ?? head, ...kept];
      },
    }),
  },
  guards: {
    hasJobs: ({ context }) => context.queue.length > 0,
    runningJobOnlyForLeaver: ({ context, event }) => event.type === 'memory.sessionLeft' && context.queue[0] !== undefined && withoutOwner(context.queue[0], event.clientUid) === null,
  },
  delays: {
    jobDeadline: ({ context }) => context.jobDeadlineMs,
  },
}).createMachine({
  id: 'memory',
  context: ({ input }) => ({
    queue: input.characters.flatMap((confUid): MemoryJob[] => [{ kind: 'reconcile', confUid }, ...(input.embed ? [{ kind: 'embed' as const, confUid, for: null }] : [])]),
    maxQueued: Math.max(1, input.maxQueued),
    jobDeadlineMs: input.jobDeadlineMs,
    dropped: 0,
    extract: input.extract ?? false,
    embed: input.embed ?? false,
    localEmbedding: input.localEmbedding ?? false,
  }),
  entry: 'startEmbeddingModel',
  on: {
    'memory.changed': { actions: 'addJob' },
    'memory.reconcile': { actions: 'addJob' },
    'memory.sessionLeft': { actions: 'dropSessionWork' },
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
      on: {
        // The running job was that session's alone: leaving `working` stops it.
        'memory.sessionLeft': [{ guard: 'runningJobOnlyForLeaver', target: 'idle', actions: ['dropSessionWork', 'shift'] }, { actions: 'dropSessionWork' }],
      },
    },
  },
});
