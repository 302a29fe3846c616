import { createActor, fromCallback, raise, setup, SimulatedClock, type EventObject } from 'xstate';
import { proxyHubMachine, type ViewerCommand, type ViewerInput } from '../../machines/proxy-hub.machine.js';
import { connectSequence } from '../../machines/session-connect.js';
import type { ClientSocket } from '../../machines/socket-contract.js';
import type { ClientFrame } from '../../src/protocol/client-frames.js';
import type { ServerFrame } from '../../src/protocol/server-frames.js';
import { ProxyLink } from '../../src/proxy/proxy-link.js';

/**
 * machines/proxy-hub.machine.ts alone: fake viewers that record what they are sent, a fake shared session that
 * records what it is told and answers through its link as the test says, and a SimulatedClock for the hub's two
 * bounds. What only real sockets show (a real session answering, a slow viewer) is in test/proxy/.
 */

type Reply = (frame: ServerFrame) => void;

function runHub(answer: (event: EventObject, reply: Reply) => void = () => undefined, input: { maxPendingPerViewer?: number } = {}) {
  const toSession: string[] = [];
  const sessions: Array<{ uid: string; reply: Reply; ended: boolean }> = [];
  const toViewers: Record<string, ServerFrame[]> = {};
  const character = { confUid: 'c1' };
  // A stand-in for the shared session: it says which character it runs, answers as `answer` decides, and ends when
  // the hub shuts it down (as the real one does).
  const fakeSession = setup({
    types: { input: {} as { clientUid: string; socket: ProxyLink }, context: {} as { n: number } },
  }).createMachine({
    context: ({ input }) => {
      const reply: Reply = (frame) => input.socket.hub.send({ type: 'upstream.frame', frame });
      const n = sessions.push({ uid: input.clientUid, reply, ended: false }) - 1;
      queueMicrotask(() =>
        reply({ type: 'set-model-and-conf', model_info: {} as never, conf_name: 'c', conf_uid: character.confUid, client_uid: input.clientUid }),
      );
      return { n };
    },
    initial: 'running',
    states: {
      running: {
        on: {
          'server.shutdown': 'ended',
          '*': {
            actions: ({ context, event }) => {
              toSession.push(event.type);
              answer(event, sessions[context.n]!.reply);
            },
          },
        },
      },
      ended: { type: 'final', entry: ({ context }) => (sessions[context.n]!.ended = true) },
    },
  });
  const viewer = fromCallback<ViewerCommand, ViewerInput>(({ input, receive }) => {
    toViewers[input.viewerId] = [];
    receive((command) => command.type === 'viewer.send' && toViewers[input.viewerId]!.push(command.frame));
  });
  let links = 0;
  const hub = proxyHubMachine.provide({
    actors: { session: fakeSession as never, viewer },
    actions: { newUpstream: raise(({ self }) => ({ type: 'upstream.link', uid: `proxy-${++links}`, link: new ProxyLink(self) })) },
    delays: { requestBound: 15_000, turnBound: 120_000 },
  });
  const clock = new SimulatedClock();
  const actor = createActor(hub, { clock, input }).start();
  const socket: ClientSocket = { kind: 'client', remote: 'test', toJSON: () => '[socket]' };
  const connect = () => actor.send({ type: 'proxy.connected', socket });
  const frame = (viewerId: string, frame: ClientFrame) => actor.send({ type: 'viewer.frame', viewerId, frame });
  const close = (viewerId: string) => actor.send({ type: 'viewer.closed', viewerId });
  /** The session in charge says `frame`. */
  const say = (frame: ServerFrame) => sessions.at(-1)!.reply(frame);
  return { actor, clock, toSession, toViewers, sessions, character, connect, frame, close, say };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const types = (frames: ServerFrame[] | undefined) => (frames ?? []).filter((f) => f.type !== 'set-model-and-conf').map((f) => (f.type === 'error' ? `error:${f.code}` : f.type === 'control' ? `control:${f.text}` : f.type));
const text = (t: string): ClientFrame => ({ type: 'text-input', text: t, images: [] });
const CHAIN_START: ServerFrame = { type: 'control', text: 'conversation-chain-start' };
const CHAIN_END: ServerFrame = { type: 'control', text: 'conversation-chain-end' };

describe('the proxy hub: viewers and the shared session', () => {
  test('the first viewer starts the shared session; a viewer joining later gets the connect frames alone', async () => {
    const hub = runHub();
    hub.connect();
    await flush();
    expect(hub.sessions.map((s) => s.uid)).toEqual(['proxy-1']);
    expect(hub.toViewers['viewer.0']!.map((f) => f.type)).toEqual(['set-model-and-conf']);
    hub.connect();
    expect(hub.toViewers['viewer.1']).toEqual(connectSequence(hub.toViewers['viewer.0']![0]!));
    expect(hub.toViewers['viewer.0']).toHaveLength(1);
    expect(hub.sessions).toHaveLength(1);
  });

  test('what the session says goes to every viewer; its answer to a request only to the viewer who asked', async () => {
    const hub = runHub((event, reply) => event.type === 'client.fetch-configs' && reply({ type: 'config-files', configs: [] }));
    hub.connect();
    hub.connect();
    await flush();
    hub.say({ type: 'full-text', text: 'for all' });
    hub.frame('viewer.1', { type: 'fetch-configs' });
    expect(types(hub.toViewers['viewer.0'])).toEqual(['full-text']);
    expect(types(hub.toViewers['viewer.1'])).toEqual(['full-text', 'config-files']);
  });

  test('conversation input is released one at a time, the next at the chain-end; the others see what was said', async () => {
    const hub = runHub();
    hub.connect();
    hub.connect();
    await flush();
    hub.toViewers['viewer.0']!.length = 0;
    hub.toViewers['viewer.1']!.length = 0;
    hub.frame('viewer.0', text('first'));
    hub.frame('viewer.1', text('second'));
    expect(hub.toSession).toEqual(['client.text-input']);
    expect(hub.toViewers['viewer.0']).toEqual([]);
    expect(hub.toViewers['viewer.1']).toEqual([{ type: 'user-input-transcription', text: 'first' }]);
    hub.say(CHAIN_START);
    hub.say(CHAIN_END);
    expect(hub.toSession).toEqual(['client.text-input', 'client.text-input']);
    expect(hub.toViewers['viewer.0']).toEqual([CHAIN_START, CHAIN_END, { type: 'user-input-transcription', text: 'second' }]);
    expect(hub.actor.getSnapshot().value).toBe('conversing');
  });

  test('an interrupt from any viewer releases the next input; so does a refusal (an error before the chain started)', async () => {
    const hub = runHub();
    hub.connect();
    await flush();
    hub.frame('viewer.0', text('one'));
    hub.frame('viewer.0', { type: 'mic-audio-end', images: [] } as ClientFrame);
    hub.frame('viewer.0', { type: 'ai-speak-signal', images: [] } as ClientFrame);
    hub.say(CHAIN_START);
    hub.frame('viewer.0', { type: 'interrupt-signal', text: '' });
    expect(hub.toSession).toEqual(['client.text-input', 'client.interrupt-signal', 'client.mic-audio-end']);
    hub.say({ type: 'error', code: 'asr', message: 'nothing heard' });
    expect(hub.toSession.at(-1)).toBe('client.ai-speak-signal');
  });

  test('a reply that never ends holds the queue at most turnBound', async () => {
    const hub = runHub();
    hub.connect();
    await flush();
    hub.frame('viewer.0', text('one'));
    hub.frame('viewer.0', text('two'));
    hub.say(CHAIN_START);
    hub.clock.increment(119_999);
    expect(hub.toSession).toEqual(['client.text-input']);
    hub.clock.increment(1);
    expect(hub.toSession).toEqual(['client.text-input', 'client.text-input']);
  });

  test('groups are refused; audio-play-start is dropped; request-init-config is answered from the session\'s last character', async () => {
    const hub = runHub();
    hub.connect();
    await flush();
    hub.toViewers['viewer.0']!.length = 0;
    hub.frame('viewer.0', { type: 'add-client-to-group', invitee_uid: 'x' });
    hub.frame('viewer.0', { type: 'remove-client-from-group', target_uid: 'x' });
    hub.frame('viewer.0', { type: 'audio-play-start', display_text: null, forwarded: false } as ClientFrame);
    hub.frame('viewer.0', { type: 'request-init-config' });
    const refusal = { type: 'group-operation-result', success: false, message: 'Groups are not available through /proxy-ws' };
    expect(hub.toViewers['viewer.0']).toEqual([refusal, refusal, expect.objectContaining({ type: 'set-model-and-conf', client_uid: 'proxy-1' })]);
    expect(hub.toSession).toEqual([]);
  });

  test('create-new-history does not reset the shared conversation: once there is a history, it is the answer', async () => {
    const hub = runHub((event, reply) => event.type === 'client.create-new-history' && reply({ type: 'new-history-created', history_uid: 'h1' }));
    hub.connect();
    await flush();
    hub.frame('viewer.0', { type: 'create-new-history' });
    hub.connect();
    hub.frame('viewer.1', { type: 'create-new-history' });
    expect(hub.toSession).toEqual(['client.create-new-history']);
    expect(hub.toViewers['viewer.1']!.at(-1)).toEqual({ type: 'new-history-created', history_uid: 'h1' });
  });

  test('the last viewer leaving ends the session; the next viewer gets a new one that first restores the history', async () => {
    const hub = runHub((event, reply) => {
      if (event.type === 'client.create-new-history') reply({ type: 'new-history-created', history_uid: 'h1' });
      if (event.type === 'client.fetch-and-set-history') reply({ type: 'history-data', messages: [] });
    });
    hub.connect();
    await flush();
    hub.frame('viewer.0', { type: 'create-new-history' });
    hub.close('viewer.0');
    expect(hub.sessions[0]!.ended).toBe(true);
    expect(hub.actor.getSnapshot().children.upstream).toBeUndefined();

    hub.connect();
    hub.frame('viewer.0', text('do you remember?')); // the viewer id is free again
    await flush();
    expect(hub.sessions.map((s) => s.uid)).toEqual(['proxy-1', 'proxy-2']);
    // The restore went first and its answer is the hub's own; then the input.
    expect(hub.toSession).toEqual(['client.create-new-history', 'client.fetch-and-set-history', 'client.text-input']);
    expect(types(hub.toViewers['viewer.0'])).toEqual([]);
  });

  test('a restore that fails (the history was deleted meanwhile): every viewer is told, and input goes on', async () => {
    const hub = runHub((event, reply) => {
      if (event.type === 'client.create-new-history') reply({ type: 'new-history-created', history_uid: 'h1' });
      if (event.type === 'client.fetch-and-set-history') reply({ type: 'error', code: 'query_failed', message: 'no such history' });
    });
    hub.connect();
    await flush();
    hub.frame('viewer.0', { type: 'create-new-history' });
    hub.close('viewer.0');
    hub.connect();
    hub.connect();
    hub.frame('viewer.1', text('hello'));
    await flush();
    expect(types(hub.toViewers['viewer.0'])).toEqual(['error:query_failed', 'user-input-transcription']);
    expect(types(hub.toViewers['viewer.1'])).toEqual(['error:query_failed']);
    expect(hub.toSession.at(-1)).toBe('client.text-input');
  });

  test('a viewer who leaves is owed nothing: its queued request is dropped, not answered to somebody else', async () => {
    const hub = runHub((event, reply) => event.type === 'client.fetch-configs' && queueMicrotask(() => reply({ type: 'config-files', configs: [] })));
    hub.connect();
    hub.connect();
    await flush();
    hub.frame('viewer.1', { type: 'fetch-configs' });
    hub.frame('viewer.1', { type: 'fetch-configs' });
    hub.close('viewer.1');
    await flush();
    expect(hub.toSession).toEqual(['client.fetch-configs']);
    expect(types(hub.toViewers['viewer.0'])).toEqual([]);
  });

  test('a request the session never answers: the viewer gets a proxy error at the bound, and the next request goes', async () => {
    const hub = runHub((event, reply) => {
      // The session answers history lists, never configs.
      if (event.type === 'client.fetch-history-list') reply({ type: 'history-list', histories: [] });
    });
    hub.connect();
    hub.connect();
    await flush();
    hub.frame('viewer.0', { type: 'fetch-configs' });
    hub.frame('viewer.1', { type: 'fetch-history-list' });
    await flush();
    expect(hub.toSession).toEqual(['client.fetch-configs']);
    hub.clock.increment(14_999);
    await flush();
    expect(types(hub.toViewers['viewer.0'])).toEqual([]);
    hub.clock.increment(1);
    await flush();
    expect(types(hub.toViewers['viewer.0'])).toEqual(['error:proxy']);
    expect(hub.toViewers['viewer.0']![1]).toEqual({ type: 'error', code: 'proxy', message: 'The session did not answer "fetch-configs" in time; please try again' });
    expect(hub.toSession).toEqual(['client.fetch-configs', 'client.fetch-history-list']);
    expect(types(hub.toViewers['viewer.1']).slice(-1)).toEqual(['history-list']);
  });

  test('a failed request is answered to its viewer with its error; a later reply of that type reaches its own viewer', async () => {
    let failNext = true;
    const hub = runHub((event, reply) => {
      if (event.type !== 'client.fetch-and-set-history') return;
      if (failNext) {
        failNext = false;
        reply({ type: 'error', code: 'query_failed', message: 'no such history' });
      } else reply({ type: 'history-data', messages: [] });
    });
    hub.connect();
    hub.connect();
    await flush();
    hub.toViewers['viewer.1']!.length = 0;
    hub.frame('viewer.0', { type: 'fetch-and-set-history', history_uid: 'missing' });
    hub.frame('viewer.1', { type: 'fetch-and-set-history', history_uid: 'there' });
    await flush();
    expect(types(hub.toViewers['viewer.0'])).toEqual(['error:query_failed']);
    expect(types(hub.toViewers['viewer.1'])).toEqual(['history-data']);
    // Nothing was left pending: the bound passing later sends nobody anything.
    hub.clock.increment(60_000);
    await flush();
    expect(types(hub.toViewers['viewer.0'])).toEqual(['error:query_failed']);
    expect(types(hub.toViewers['viewer.1'])).toEqual(['history-data']);
  });

  test('one viewer\'s waiting input and requests are bounded; over the bound it hears too_many_requests, the others are not held', async () => {
    const hub = runHub(() => undefined, { maxPendingPerViewer: 2 });
    hub.connect();
    hub.connect();
    await flush();
    hub.frame('viewer.0', text('one'));
    hub.frame('viewer.0', text('two'));
    hub.frame('viewer.0', text('three'));
    hub.frame('viewer.0', { type: 'fetch-history-list' });
    // 'one' went to the session at once; 'two' and 'three' wait, and the bound counts what waits.
    expect(types(hub.toViewers['viewer.0']).filter((t) => t.startsWith('error'))).toEqual(['error:too_many_requests']);
    hub.frame('viewer.1', text('from another viewer'));
    expect(types(hub.toViewers['viewer.1']).filter((t) => t.startsWith('error'))).toEqual([]);
    hub.say(CHAIN_START);
    hub.say(CHAIN_END);
    // 'two' went: there is room again.
    hub.frame('viewer.0', { type: 'fetch-history-list' });
    expect(types(hub.toViewers['viewer.0']).filter((t) => t.startsWith('error'))).toHaveLength(1);
  });
});
