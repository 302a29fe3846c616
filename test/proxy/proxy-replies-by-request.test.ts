import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

type F = Record<string, any>;

/**
 * Proxy requests (docs/protocol.md, 'Proxy'): a request that fails is answered with its error, and the next answer of its type is not misrouted.
 * The hub's routing itself is tested on its machine (test/machines/proxy-hub.machine.test.ts); here a real session
 * answers, so what it says when a query fails (its request queue's error codes) must be what the hub takes for the
 * answer of the request in flight.
 */
describe('/proxy-ws answers each viewer request with its own reply or error', () => {
  // A history that exists on disk (a new history has no file until its first message).
  const historyUid = '2025-05-01_12-00-00_0123456789abcdef0123456789abcdef';
  const harness = useFakeEngineServer({
    conf: { 'system_config.enable_proxy': true },
    prepare: (fixture) =>
      fixture.write(
        `chat_history/mao_pro_001/${historyUid}.json`,
        JSON.stringify([{ role: 'metadata', timestamp: '2025-05-01T12:00:00' }, { role: 'human', timestamp: '2025-05-01T12:00:05', content: 'Hi' }]),
      ),
  });
  const proxyUrl = () => harness.server.wsUrl.replace(/client-ws$/, 'proxy-ws');

  test('a failing request followed by a succeeding one from another viewer: each viewer gets its own answer', async () => {
    const a = await TestClient.connect(proxyUrl());
    await a.ready();
    const b = await TestClient.connect(proxyUrl());
    await b.ready();

    // A asks for a history that does not exist; B, right after, for the one that does.
    a.send({ type: 'fetch-and-set-history', history_uid: '2020-01-01_00-00-00_00000000000000000000000000000000' });
    b.send({ type: 'fetch-and-set-history', history_uid: historyUid });

    await b.next('history-data');
    await a.next('error');
    // A heartbeat through both sockets: anything still on its way for this exchange has arrived by its answer.
    a.send({ type: 'heartbeat' });
    b.send({ type: 'heartbeat' });
    await a.next('heartbeat-ack');
    await b.next('heartbeat-ack');

    expect(a.ofType('history-data')).toHaveLength(0);
    expect(a.ofType('error')).toEqual([expect.objectContaining({ code: 'query_failed' })]);
    expect(b.ofType('history-data')).toHaveLength(1);
    expect(b.ofType('error')).toHaveLength(0);

    // And later answers of that type still reach whoever asked.
    a.send({ type: 'fetch-and-set-history', history_uid: historyUid });
    await a.next('history-data');
    b.send({ type: 'heartbeat' });
    await b.next('heartbeat-ack', 2);
    expect(b.ofType('history-data')).toHaveLength(1);
    await a.close();
    await b.close();
  });

  test('requests of several viewers in a burst are each answered to the viewer who asked', async () => {
    const viewers = await Promise.all([0, 1, 2].map(() => TestClient.connect(proxyUrl())));
    await Promise.all(viewers.map((v) => v.ready()));
    for (let round = 0; round < 3; round++) {
      for (const v of viewers) {
        v.send({ type: 'fetch-history-list' });
        v.send({ type: 'fetch-configs' });
        v.send({ type: 'fetch-and-set-history', history_uid: '2020-01-01_00-00-00_00000000000000000000000000000000' });
      }
    }
    await Promise.all(viewers.map((v) => v.next('error', 3, 5000)));
    for (const v of viewers) {
      expect(v.ofType('history-list')).toHaveLength(3);
      expect(v.ofType('config-files')).toHaveLength(3);
      expect(v.ofType('error').map((f: F) => f.code)).toEqual(['query_failed', 'query_failed', 'query_failed']);
    }
    await Promise.all(viewers.map((v) => v.close()));
  });
});
