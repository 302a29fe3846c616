import { enqueueActions, setup, type AnyActorRef } from 'xstate';
import { localModelKey, type LocalModelsRequest } from './local-model-contract.js';
import { localModelMachine, type LocalModelEvent } from './local-model.machine.js';

/**
 * The models this server runs itself (systemId `localModels`): invoked by the server machine while it serves, so
 * no session owns a model and server shutdown unloads them all. Each distinct spec (file and load settings) is one
 * `localModel` child, started by its first lease request and kept for the life of the server (it unloads its model
 * by itself after keep_alive; the actor that remembers the settings is a few hundred bytes).
 */

export interface LocalModelsContext {
  /** Child id (`model.<n>`) by spec key. */
  children: Record<string, string>;
}

export const localModelsMachine = setup({
  types: {
    context: {} as LocalModelsContext,
    events: {} as LocalModelsRequest,
  },
  actors: {
    localModel: localModelMachine,
  },
  actions: {
    /** Passes a lease request to the spec's model actor, creating it on first use. */
    route: enqueueActions(({ context, event, self, enqueue }) => {
      const key = localModelKey(event.spec);
      let id = context.children[key];
      const child = id ? (self.getSnapshot().children[id] as AnyActorRef | undefined) : undefined;
      if (!child) {
        if (event.type === 'localModels.release') return; // nothing was ever leased from it
        id = `model.${Object.keys(context.children).length}`;
        enqueue.spawnChild('localModel', { id, input: event.spec });
        enqueue.assign({ children: { ...context.children, [key]: id } });
      }
      const command: LocalModelEvent =
        event.type === 'localModels.lease'
          ? { type: 'model.lease', leaseId: event.leaseId, replyTo: event.replyTo }
          : { type: 'model.release', leaseId: event.leaseId };
      enqueue.sendTo(id!, command);
    }),
  },
}).createMachine({
  id: 'localModels',
  context: { children: {} },
  on: {
    'localModels.lease': { actions: 'route' },
    'localModels.release': { actions: 'route' },
  },
});
