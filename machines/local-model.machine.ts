import { assign, enqueueActions, fromCallback, not, setup, type AnyActorRef, type EventObject } from 'xstate';
import type { LeaseReply, LoadedModel, LocalModelSpec } from './local-model-contract.js';

/**
 * One model file loaded in this server, shared by the sessions that use it: a child of the `localModels` pool.
 * The `modelProcess` child (src/engines/llama/llama-model-actor.ts) loads it and owns it; leaving `active` stops that
 * child, which unloads the model. Turns lease one of its sequences for a reply; at most `sequences` leases are out,
 * `maxQueued` more wait in order, and a request beyond that is refused at once.
 *
 *   unloaded → active.loading → active.ready.{busy ⇄ idle} → (keepAlive after the last lease) → unloaded
 *
 * A load that fails, or a model process that dies, answers everyone waiting with `lease.failed` and goes back to
 * `unloaded`: the next request tries again (the user may have fixed the file).
 */

interface Waiter {
  leaseId: string;
  replyTo: AnyActorRef;
}

export interface LocalModelContext {
  spec: LocalModelSpec;
  model: LoadedModel | null;
  waiting: Waiter[];
  /** Leases out, by id, with the sequence each holds. */
  leases: Record<string, { slot: number; replyTo: AnyActorRef }>;
  freeSlots: number[];
}

export type LocalModelEvent =
  | { type: 'model.lease'; leaseId: string; replyTo: AnyActorRef }
  | { type: 'model.release'; leaseId: string }
  | { type: 'model.loaded'; model: LoadedModel }
  | { type: 'model.failed'; message: string }
  | { type: 'model.exited'; message: string };

const alive = (ref: AnyActorRef) => ref.getSnapshot().status === 'active';
const allSlots = (spec: LocalModelSpec) => Array.from({ length: spec.sequences }, (_, i) => i);

export const localModelMachine = setup({
  types: {
    context: {} as LocalModelContext,
    events: {} as LocalModelEvent,
    input: {} as LocalModelSpec,
  },
  actors: {
    /** Loads the model (reports `model.loaded` or `model.failed`), keeps it, and unloads it when stopped. */
    modelProcess: fromCallback<EventObject, LocalModelSpec>(() => {
      throw new Error('actor "modelProcess" must be provided with machine.provide()');
    }),
  },
  delays: {
    keepAlive: ({ context }) => context.spec.keepAliveMs ?? 0,
  },
  guards: {
    inUse: ({ context }) => Object.keys(context.leases).length > 0 || context.waiting.length > 0,
    keptUntilStop: ({ context }) => context.spec.keepAliveMs === null,
  },
  actions: {
    /** Queues the request, or refuses it when the queue is full (free sequences take their requests at once). */
    enqueue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'model.lease') return;
      if (context.waiting.length >= context.spec.maxQueued + context.freeSlots.length) {
        const message = `${context.spec.provider} is busy: ${Object.keys(context.leases).length} replies are being written and ${context.waiting.length} wait; try again in a moment`;
        enqueue.sendTo(event.replyTo, { type: 'lease.failed', leaseId: event.leaseId, reason: 'busy', message } satisfies LeaseReply);
        return;
      }
      enqueue.assign({ waiting: [...context.waiting, { leaseId: event.leaseId, replyTo: event.replyTo }] });
    }),
    /** Gives free sequences to the waiting requests, oldest first (those whose turn is gone are skipped). */
    grant: enqueueActions(({ context, enqueue }) => {
      if (!context.model) return;
      const waiting = context.waiting.filter((w) => alive(w.replyTo));
      const freeSlots = [...context.freeSlots];
      const leases = { ...context.leases };
      while (waiting.length > 0 && freeSlots.length > 0) {
        const next = waiting.shift()!;
        const slot = freeSlots.shift()!;
        leases[next.leaseId] = { slot, replyTo: next.replyTo };
        enqueue.sendTo(next.replyTo, { type: 'lease.granted', leaseId: next.leaseId, model: context.model, slot } satisfies LeaseReply);
      }
      enqueue.assign({ waiting, freeSlots, leases });
    }),
    /** A lease given back, or a waiting request withdrawn. */
    release: assign(({ context, event }) => {
      if (event.type !== 'model.release') return {};
      const lease = context.leases[event.leaseId];
      if (!lease) return { waiting: context.waiting.filter((w) => w.leaseId !== event.leaseId) };
      const { [event.leaseId]: _released, ...leases } = context.leases;
      return { leases, freeSlots: [...context.freeSlots, lease.slot].sort((a, b) => a - b) };
    }),
    keepModel: assign({ model: ({ event }) => (event.type === 'model.loaded' ? event.model : null) }),
    /** The model was unloaded after its keep-alive: forget it. */
    forgetModel: assign({ model: null }),
    /** The model is gone (failed to load, or its process died): everyone waiting or holding a lease hears why. */
    failAll: enqueueActions(({ context, event, enqueue }) => {
      const message = 'message' in event ? event.message : `${context.spec.provider} stopped`;
      const waiters = [...context.waiting, ...Object.entries(context.leases).map(([leaseId, l]) => ({ leaseId, replyTo: l.replyTo }))];
      for (const w of waiters.filter((w) => alive(w.replyTo))) {
        enqueue.sendTo(w.replyTo, { type: 'lease.failed', leaseId: w.leaseId, reason: 'load', message } satisfies LeaseReply);
      }
      enqueue.assign({ waiting: [], leases: {}, freeSlots: allSlots(context.spec), model: null });
    }),
  },
}).createMachine({
  id: 'localModel',
  context: ({ input }) => ({ spec: input, model: null, waiting: [], leases: {}, freeSlots: allSlots(input) }),
  initial: 'unloaded',
  states: {
    unloaded: {
      on: { 'model.lease': { target: 'active', actions: 'enqueue' } },
    },
    active: {
      invoke: { id: 'modelProcess', src: 'modelProcess', input: ({ context }) => context.spec },
      initial: 'loading',
      states: {
        loading: {
          on: { 'model.loaded': { target: 'ready', actions: ['keepModel', 'grant'] } },
        },
        ready: {
          initial: 'busy',
          states: {
            busy: { always: { guard: not('inUse'), target: 'idle' } },
            idle: {
              always: [
                { guard: 'inUse', target: 'busy' },
                { guard: 'keptUntilStop', target: 'kept' },
              ],
              after: { keepAlive: { target: '#localModel.unloaded', actions: 'forgetModel' } },
            },
            kept: { always: { guard: 'inUse', target: 'busy' } },
          },
          on: {
            'model.lease': { actions: ['enqueue', 'grant'] },
            'model.release': { actions: ['release', 'grant'] },
          },
        },
      },
      on: {
        'model.lease': { actions: 'enqueue' },
        'model.release': { actions: 'release' },
        'model.failed': { target: 'unloaded', actions: 'failAll' },
        'model.exited': { target: 'unloaded', actions: 'failAll' },
      },
    },
  },
});
