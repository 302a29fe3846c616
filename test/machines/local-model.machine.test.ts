import { createActor, fromCallback, SimulatedClock, type EventObject } from 'xstate';
import type { LeaseReply, LoadedModel, LocalModelSpec } from '../../machines/local-model-contract.js';
import { TEST_MODEL_SPEC } from '../helpers/local-model-spec.js';
import { localModelMachine, type LocalModelEvent } from '../../machines/local-model.machine.js';

const SPEC = TEST_MODEL_SPEC;

/** A stand-in for the model process: loads when told to, records loads and unloads. */
function fakeModelProcess() {
  const log: string[] = [];
  let finishLoad: ((event: LocalModelEvent) => void) | undefined;
  let loads = 0;
  const model: LoadedModel = { description: 'fake', generate: () => Promise.reject(new Error('not used')), embed: () => Promise.reject(new Error('not used')) };
  const logic = fromCallback<EventObject, LocalModelSpec, EventObject>(({ sendBack }) => {
    const n = ++loads;
    log.push(`load ${n}`);
    finishLoad = (event) => sendBack(event);
    return () => log.push(`unload ${n}`);
  });
  return {
    logic,
    log,
    loaded: () => finishLoad!({ type: 'model.loaded', model }),
    fail: (message: string) => finishLoad!({ type: 'model.failed', message }),
    die: () => finishLoad!({ type: 'model.exited', message: 'the process ended' }),
  };
}

/** A turn's llmStream slot as the model sees it: it only records the replies it gets. */
function requester() {
  const got: LeaseReply[] = [];
  const ref = createActor(fromCallback<EventObject>(({ receive }) => receive((e) => void got.push(e as LeaseReply)))).start();
  return { ref, got };
}

/** One model actor on its own (the pool that routes to it is tested in local-models.machine.test.ts). */
function modelActor(spec: LocalModelSpec = SPEC) {
  const processes = fakeModelProcess();
  const clock = new SimulatedClock();
  const actor = createActor(localModelMachine.provide({ actors: { modelProcess: processes.logic } }), { input: spec, clock }).start();
  const lease = (leaseId: string, who = requester()) => {
    actor.send({ type: 'model.lease', leaseId, replyTo: who.ref });
    return who;
  };
  const release = (leaseId: string) => actor.send({ type: 'model.release', leaseId });
  return { actor, clock, processes, lease, release, model: () => actor };
}

const summary = (got: LeaseReply[]) => got.map((r) => (r.type === 'lease.granted' ? `granted ${r.leaseId} slot ${r.slot}` : `failed ${r.leaseId} ${r.reason}`));

describe('localModel: one loaded model shared by the turns that lease its sequences', () => {
  test('the first lease loads the model; leases are granted as sequences free up, in the order asked', () => {
    const p = modelActor();
    const a = p.lease('a');
    expect(p.processes.log).toEqual(['load 1']);
    expect(a.got).toEqual([]);
    p.processes.loaded();
    expect(summary(a.got)).toEqual(['granted a slot 0']);
    const b = p.lease('b');
    const c = p.lease('c');
    expect(summary(b.got)).toEqual(['granted b slot 1']);
    expect(c.got).toEqual([]); // both sequences are out: c waits
    p.release('a');
    expect(summary(c.got)).toEqual(['granted c slot 0']);
    expect(p.processes.log).toEqual(['load 1']); // one model for all three
  });

  test('beyond max_queued waiting requests, a request is refused at once as busy', () => {
    const p = modelActor();
    p.lease('a');
    p.processes.loaded();
    p.lease('b');
    const c = p.lease('c');
    const d = p.lease('d');
    expect(c.got).toEqual([]);
    expect(summary(d.got)).toEqual(['failed d busy']);
    expect((d.got[0] as Extract<LeaseReply, { type: 'lease.failed' }>).message).toMatch(/llama_cpp_llm is busy: 2 replies are being written and 1 wait/);
  });

  test('a waiting request that is withdrawn (its turn was interrupted) is never granted', () => {
    const p = modelActor();
    p.lease('a');
    p.processes.loaded();
    p.lease('b');
    const c = p.lease('c');
    p.release('c');
    p.release('a');
    expect(c.got).toEqual([]);
    const d = p.lease('d');
    expect(summary(d.got)).toEqual(['granted d slot 0']);
  });

  test('keep_alive after the last release unloads the model; the next lease loads it again', () => {
    const p = modelActor();
    p.lease('a');
    p.processes.loaded();
    p.release('a');
    p.clock.increment(299_999);
    expect(p.processes.log).toEqual(['load 1']);
    p.clock.increment(1);
    expect(p.processes.log).toEqual(['load 1', 'unload 1']);
    const b = p.lease('b');
    expect(p.processes.log).toEqual(['load 1', 'unload 1', 'load 2']);
    p.processes.loaded();
    expect(summary(b.got)).toEqual(['granted b slot 0']);
  });

  test('a lease taken before keep_alive runs out keeps the model; the bound counts from the last release', () => {
    const p = modelActor();
    p.lease('a');
    p.processes.loaded();
    p.release('a');
    p.clock.increment(200_000);
    p.lease('b');
    p.release('b');
    p.clock.increment(200_000);
    expect(p.processes.log).toEqual(['load 1']);
    p.clock.increment(100_000);
    expect(p.processes.log).toEqual(['load 1', 'unload 1']);
  });

  test('keep_alive -1 keeps the model until the server stops', () => {
    const p = modelActor({ ...SPEC, keepAliveMs: null });
    p.lease('a');
    p.processes.loaded();
    p.release('a');
    p.clock.increment(365 * 24 * 3600_000);
    expect(p.processes.log).toEqual(['load 1']);
    p.actor.stop();
    expect(p.processes.log).toEqual(['load 1', 'unload 1']);
  });

  test('a load that fails answers everyone waiting with its reason; the next lease tries again', () => {
    const p = modelActor();
    const a = p.lease('a');
    const b = p.lease('b');
    p.processes.fail('llama_cpp_llm: /models/tiny.gguf could not be loaded (bad magic)');
    expect(summary(a.got)).toEqual(['failed a load']);
    expect(summary(b.got)).toEqual(['failed b load']);
    expect((a.got[0] as Extract<LeaseReply, { type: 'lease.failed' }>).message).toMatch(/could not be loaded \(bad magic\)/);
    expect(p.processes.log).toEqual(['load 1', 'unload 1']);
    p.lease('c');
    expect(p.processes.log).toEqual(['load 1', 'unload 1', 'load 2']);
  });

  test('a model process that dies fails the leases out and frees every sequence', () => {
    const p = modelActor();
    const a = p.lease('a');
    p.processes.loaded();
    p.processes.die();
    expect(summary(a.got)).toEqual(['granted a slot 0', 'failed a load']);
    expect(p.model().getSnapshot().value).toBe('unloaded');
    expect(p.model().getSnapshot().context.freeSlots).toEqual([0, 1]);
  });
});
