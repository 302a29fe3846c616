import { randomUUID } from 'node:crypto';
import type { ActorSystem, AnyActorRef, EventObject } from 'xstate';
import type { LocalModelAccess, ModelLease } from '../../../machines/engine-contracts.js';
import { LOCAL_MODELS_SYSTEM_ID, type LeaseReply, type LocalModelSpec, type LocalModelsRequest } from '../../../machines/local-model-contract.js';
import { LlmError } from './llm-engine.js';

/**
 * The `llmStream` slot's way to the server's `localModels` pool: requests go there with the slot actor as
 * `replyTo`, the answers arrive at the slot (`onReply`), and everything leased is given back when the slot stops
 * (`releaseAll`), so an interrupted or abandoned turn never keeps a sequence.
 */
export function modelLeases(system: ActorSystem<any>, self: AnyActorRef): LocalModelAccess & { onReply(event: EventObject): void; releaseAll(): void } {
  const pending = new Map<string, { spec: LocalModelSpec; resolve(lease: ModelLease): void; reject(err: Error): void }>();
  const held = new Map<string, LocalModelSpec>();
  const pool = () => system.get(LOCAL_MODELS_SYSTEM_ID) as AnyActorRef | undefined;
  const release = (leaseId: string, spec: LocalModelSpec) => {
    held.delete(leaseId);
    pending.delete(leaseId);
    pool()?.send({ type: 'localModels.release', spec, leaseId } satisfies LocalModelsRequest);
  };
  return {
    lease(spec, signal) {
      const target = pool();
      if (!target) return Promise.reject(new LlmError(`${spec.provider}: this server runs no local models here`));
      const leaseId = randomUUID();
      return new Promise<ModelLease>((resolve, reject) => {
        const onAbort = () => {
          release(leaseId, spec);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(leaseId, {
          spec,
          resolve: (lease) => (signal.removeEventListener('abort', onAbort), resolve(lease)),
          reject: (err) => (signal.removeEventListener('abort', onAbort), reject(err)),
        });
        target.send({ type: 'localModels.lease', spec, leaseId, replyTo: self } satisfies LocalModelsRequest);
      });
    },
    onReply(event) {
      const reply = event as LeaseReply;
      if (reply.type !== 'lease.granted' && reply.type !== 'lease.failed') return;
      const waiting = pending.get(reply.leaseId);
      // Withdrawn meanwhile: its release reached the model after this grant, and frees the sequence there.
      if (!waiting) return;
      pending.delete(reply.leaseId);
      if (reply.type === 'lease.failed') {
        waiting.reject(new LlmError(reply.message, reply.reason === 'busy' ? 'model_busy' : 'model_load'));
        return;
      }
      held.set(reply.leaseId, waiting.spec);
      waiting.resolve({ model: reply.model, slot: reply.slot, release: () => release(reply.leaseId, waiting.spec) });
    },
    releaseAll() {
      for (const [leaseId, spec] of [...held, ...[...pending].map(([id, p]) => [id, p.spec] as const)]) release(leaseId, spec);
    },
  };
}
