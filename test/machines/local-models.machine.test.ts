import { createActor, fromCallback, type EventObject } from 'xstate';
import type { LocalModelSpec } from '../../machines/local-model-contract.js';
import { TEST_MODEL_SPEC } from '../helpers/local-model-spec.js';
import type { LocalModelEvent } from '../../machines/local-model.machine.js';
import { localModelsMachine } from '../../machines/local-models.machine.js';

/**
 * machines/local-models.machine.ts: the pool routes each request to the model actor of its spec, creating it on
 * first use. The model actor is a fake here that records what it is told (the real one is tested in
 * local-model.machine.test.ts).
 */

const SPEC = TEST_MODEL_SPEC;

function pool() {
  const told: string[] = [];
  const events: LocalModelEvent[] = [];
  const started: LocalModelSpec[] = [];
  const localModel = fromCallback<LocalModelEvent, LocalModelSpec>(({ input, receive }) => {
    const n = started.push(input) - 1;
    receive((event) => events.push(event) && told.push(`model ${n}: ${event.type} ${'leaseId' in event ? event.leaseId : ''}`.trim()));
    return () => told.push(`model ${n}: stopped`);
  });
  const actor = createActor(localModelsMachine.provide({ actors: { localModel: localModel as never } })).start();
  const replyTo = createActor(fromCallback<EventObject>(() => undefined)).start();
  const lease = (leaseId: string, spec = SPEC) => actor.send({ type: 'localModels.lease', spec, leaseId, replyTo });
  const release = (leaseId: string, spec = SPEC) => actor.send({ type: 'localModels.release', spec, leaseId });
  return { actor, told, events, started, lease, release, replyTo };
}

describe('localModels: one model actor per spec, for the life of the server', () => {
  test('the first lease of a spec creates its model actor; the same spec reaches the same actor', () => {
    const p = pool();
    p.lease('a');
    p.lease('b');
    p.release('a');
    expect(p.started).toEqual([SPEC]);
    expect(Object.keys(p.actor.getSnapshot().children)).toEqual(['model.0']);
    expect(p.told).toEqual(['model 0: model.lease a', 'model 0: model.lease b', 'model 0: model.release a']);
  });

  test('the model actor is told who is to be answered', () => {
    const p = pool();
    p.lease('a');
    expect(p.events).toEqual([{ type: 'model.lease', leaseId: 'a', replyTo: p.replyTo }]);
  });

  test('another file, or another load setting, is another model; a setting that does not change the load is not', () => {
    const p = pool();
    p.lease('a');
    p.lease('b', { ...SPEC, file: '/models/other.gguf' });
    p.lease('c', { ...SPEC, contextSize: 1024 });
    p.lease('d', { ...SPEC, keepAliveMs: 5_000, maxQueued: 4 });
    p.release('b', { ...SPEC, file: '/models/other.gguf' });
    expect(Object.keys(p.actor.getSnapshot().children)).toEqual(['model.0', 'model.1', 'model.2']);
    expect(p.told).toEqual(['model 0: model.lease a', 'model 1: model.lease b', 'model 2: model.lease c', 'model 0: model.lease d', 'model 1: model.release b']);
  });

  test('a release for a spec never leased starts nothing', () => {
    const p = pool();
    p.release('a');
    expect(p.started).toEqual([]);
    expect(p.actor.getSnapshot().children).toEqual({});
  });

  test('stopping the pool (server shutdown) stops every model actor, which unloads its model', () => {
    const p = pool();
    p.lease('a');
    p.lease('b', { ...SPEC, file: '/models/other.gguf' });
    p.actor.stop();
    expect(p.told.filter((t) => t.endsWith('stopped')).sort()).toEqual(['model 0: stopped', 'model 1: stopped']);
  });
});
