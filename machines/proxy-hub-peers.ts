import { enqueueActions } from 'xstate';
import { connectSequence } from './session-connect.js';
import { isPeerViewer, PEER_VIEWER_PREFIX, peerViewerSystemId } from './proxy-hub-contract.js';
import { PROXY_LEASE_SYSTEM_ID, type ProxyLeaseEvent } from './proxy-lease.machine.js';
import { hubSetup, NO_OWNER, viewerSend } from './proxy-hub-setup.js';

/**
 * The `/proxy-ws` hub across instances (system_config.cluster): one instance, the lease's holder
 * (proxy-lease.machine.ts), runs the shared session; every other instance's hub links to it through its `upstream`
 * slot (a `peerUpstream`), and the owner sees each such instance as one viewer (`peer.<instance id>`, a
 * `peerViewer`). A follower hub keeps doing for its own viewers what it does alone: it queues their input, routes
 * their answers and restores the conversation on a new session; the owner's hub orders the instances' input.
 *
 * When the owner changes, the upstream that belongs to the old one is ended at once (the session stops here the
 * moment this instance steps down, so that two never run), and the next starts: here if this instance now holds the
 * lease, else a link to the holder. The owner tells the other instances the conversation's history uid, so that
 * whoever runs the session next continues it.
 */
export const withPeers = hubSetup.extend({
  guards: {
    /** The running upstream belongs to an owner that is not the owner any more. */
    upstreamStale: ({ context, event }) => event.type === 'proxy.owner' && context.sessionUid !== null && context.upstreamOwner !== event.owner,
  },
  actions: {
    /** The hub starts after the lease may have decided: it asks. */
    askLease: enqueueActions(({ context, system, enqueue }) => {
      const lease = context.instanceId !== null ? system.get(PROXY_LEASE_SYSTEM_ID) : undefined;
      const ask: ProxyLeaseEvent = { type: 'lease.tell' };
      if (lease) enqueue.sendTo(lease, ask);
    }),
    /**
     * A new owner. Other instances' viewers are the owner's alone: a hub that does not run the session lets them go
     * (they link to the new owner by themselves). Viewers here hear that the session is moving when nobody holds it.
     */
    takeOwner: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'proxy.owner') return;
      enqueue.assign({ owner: event.owner });
      if (event.owner !== context.instanceId) {
        const peers = context.viewers.filter(isPeerViewer);
        for (const id of peers) enqueue.stopChild(id);
        if (peers.length > 0) enqueue.assign({ viewers: context.viewers.filter((v) => !isPeerViewer(v)), requests: context.requests.filter((r) => r.viewerId === null || !isPeerViewer(r.viewerId)) });
      }
      const locals = context.viewers.filter((v) => !isPeerViewer(v));
      if (event.owner === null && context.owner !== null) for (const id of locals) enqueue.sendTo(id, viewerSend(NO_OWNER));
    }),
    /** Another instance's viewers link to the session run here: as one viewer, told what a joining viewer is told. */
    joinPeer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'proxy.peerJoined' || context.instanceId === null || context.owner !== context.instanceId) return;
      const id = `${PEER_VIEWER_PREFIX}${event.peer}`;
      if (!context.viewers.includes(id)) {
        enqueue.spawnChild('peerViewer', { id, systemId: peerViewerSystemId(event.peer), input: { viewerId: id, peer: event.peer, link: event.link } });
        enqueue.assign({ viewers: [...context.viewers, id] });
      }
      // A peer that links again (its link ended and restarted) is a new viewer to its hub: it gets the connect frames.
      if (context.sessionReady && context.modelAndConf) for (const frame of connectSequence(context.modelAndConf)) enqueue.sendTo(id, viewerSend(frame));
      enqueue.sendTo(id, { type: 'viewer.history', historyUid: context.historyUid });
    }),
    /** The conversation's history uid changed: the other instances hear it, so whoever runs the session next continues it. */
    shareHistory: enqueueActions(({ context, enqueue }) => {
      if (context.instanceId === null || context.historyUid === context.sharedHistoryUid) return;
      enqueue.assign({ sharedHistoryUid: context.historyUid });
      for (const id of context.viewers.filter(isPeerViewer)) enqueue.sendTo(id, { type: 'viewer.history', historyUid: context.historyUid });
    }),
    /** The owner's history uid, heard through the link to it. */
    learnHistory: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'upstream.history') enqueue.assign({ historyUid: event.historyUid, sharedHistoryUid: event.historyUid });
    }),
  },
});
