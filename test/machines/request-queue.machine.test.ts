import { createActor, fromPromise, setup, type AnyActorRef, type EventObject } from 'xstate';
import {
  requestQueueMachine,
  type RequestQueueEvent,
  type RequestQueueOutputEvent,
  type RequestResult,
  type SessionRequest,
} from '../../machines/request-queue.machine.js';

/**
 * machines/request-queue.machine.ts under a parent that stands for the session: it records what the queue tells it.
 * The `answerRequest` work waits until the test answers it.
 */

type Work = Exclude<SessionRequest, { kind: 'inline' }>;

function queue(maxPending = 3) {
  const told: RequestQueueOutputEvent[] = [];
  const work: Array<{ request: Work; signal: AbortSignal; resolve: (r: RequestResult) => void; reject: (e: unknown) => void }> = [];
  const requests = requestQueueMachine.provide({
    actors: {
      answerRequest: fromPromise<RequestResult, Work>(({ input, signal }) => new Promise((resolve, reject) => work.push({ request: input, signal, resolve, reject }))),
    },
  });
  const parent = setup({ actors: { requests } }).createMachine({
    initial: 'active',
    states: {
      active: {
        invoke: { id: 'requests', src: 'requests', input: { maxPending } },
        on: {
          'requests.*': { actions: ({ event }) => void told.push(event as RequestQueueOutputEvent) },
          leave: 'elsewhere',
        },
      },
      elsewhere: {},
    },
  });
  const actor = createActor(parent).start();
  const add = (request: SessionRequest) => (actor.getSnapshot().children.requests as AnyActorRef).send({ type: 'requests.add', request } satisfies RequestQueueEvent);
  return { actor, told, work, add, leave: () => actor.send({ type: 'leave' } as EventObject) };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const HEARTBEAT: SessionRequest = { kind: 'inline', frame: 'heartbeat' };
const CONFIGS: SessionRequest = { kind: 'fetch-configs' };
const HISTORY = (historyUid: string): SessionRequest => ({ kind: 'fetch-and-set-history', confUid: 'c', historyUid, interruptMethod: 'system', hiddenTags: {} });

const summary = (told: RequestQueueOutputEvent[]) =>
  told.map((e) => `${e.type.slice('requests.'.length)} ${e.request.kind === 'inline' ? e.request.frame : e.request.kind}${e.type === 'requests.refused' ? ` (${e.pending} pending)` : ''}`);

describe('request queue (a session\'s requests, one at a time, in arrival order)', () => {
  test('an inline request with nothing before it is handed back at once, with no result frame', () => {
    const q = queue();
    q.add(HEARTBEAT);
    expect(q.told).toEqual([{ type: 'requests.answered', request: HEARTBEAT, result: { frame: null } }]);
    expect(q.work).toEqual([]);
  });

  test('one piece of work at a time; its result goes back with its request; the next starts after it', async () => {
    const q = queue();
    q.add(HISTORY('a'));
    q.add(CONFIGS);
    expect(q.work.map((w) => w.request)).toEqual([HISTORY('a')]);
    const result: RequestResult = { frame: { type: 'history-data', messages: [] }, historyUid: 'a', memory: [] };
    q.work[0]!.resolve(result);
    await flush();
    expect(q.told).toEqual([{ type: 'requests.answered', request: HISTORY('a'), result }]);
    expect(q.work.map((w) => w.request)).toEqual([HISTORY('a'), CONFIGS]);
  });

  test('an inline request waits for the work asked before it; replies leave in arrival order', async () => {
    const q = queue();
    q.add(HISTORY('a'));
    q.add(HEARTBEAT);
    q.add(CONFIGS);
    expect(q.told).toEqual([]);
    q.work[0]!.resolve({ frame: { type: 'history-data', messages: [] } });
    await flush();
    expect(summary(q.told)).toEqual(['answered fetch-and-set-history', 'answered heartbeat']);
    q.work[1]!.resolve({ frame: { type: 'config-files', configs: [] } });
    await flush();
    expect(summary(q.told)).toEqual(['answered fetch-and-set-history', 'answered heartbeat', 'answered fetch-configs']);
  });

  test('work that fails is reported with its error, and the queue goes on', async () => {
    const q = queue();
    q.add(CONFIGS);
    q.add(HEARTBEAT);
    const error = new Error('disk on fire');
    q.work[0]!.reject(error);
    await flush();
    expect(q.told[0]).toEqual({ type: 'requests.failed', request: CONFIGS, error });
    expect(summary(q.told)).toEqual(['failed fetch-configs', 'answered heartbeat']);
  });

  test('beyond maxPending waiting requests (the one being worked on counts), each one more is refused at once', async () => {
    const q = queue(3);
    q.add(HISTORY('a'));
    q.add(HISTORY('b'));
    q.add(HISTORY('c'));
    q.add(HEARTBEAT);
    q.add(HISTORY('d'));
    expect(summary(q.told)).toEqual(['refused heartbeat (3 pending)', 'refused fetch-and-set-history (3 pending)']);
    q.work[0]!.resolve({ frame: null });
    await flush();
    q.add(HEARTBEAT); // room again: accepted, answered after b and c
    expect(summary(q.told).slice(2)).toEqual(['answered fetch-and-set-history']);
    q.work[1]!.resolve({ frame: null });
    await flush();
    q.work[2]!.resolve({ frame: null });
    await flush();
    expect(summary(q.told).slice(2)).toEqual(['answered fetch-and-set-history', 'answered fetch-and-set-history', 'answered fetch-and-set-history', 'answered heartbeat']);
  });

  test('leaving the state that runs the queue aborts the work in progress; its late result is told to nobody', async () => {
    const q = queue();
    q.add(HISTORY('a'));
    q.add(HEARTBEAT);
    q.leave();
    expect(q.work[0]!.signal.aborted).toBe(true);
    q.work[0]!.resolve({ frame: { type: 'history-data', messages: [] } });
    await flush();
    expect(q.told).toEqual([]);
    expect(q.actor.getSnapshot().children.requests).toBeUndefined();
  });
});
