import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

/** The requests the web client sends when its page loads, and the replies it expects, in that order. */
const OPEN_REQUESTS = ['fetch-backgrounds', 'fetch-configs', 'fetch-history-list', 'create-new-history'];
const OPEN_REPLIES = ['background-files', 'config-files', 'history-list', 'new-history-created'];
const REPLY_TYPES = new Set([...OPEN_REPLIES, 'history-data', 'history-deleted', 'heartbeat-ack', 'config-switched']);

describe('page opens: replies in request order, nothing across a switch, nothing left on disk', () => {
  const harness = useFakeEngineServer({
    prepare: (fixture) => {
      const dir = path.join(fixture.root, 'chat_history', 'mao_pro_001');
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 200; i++) writeFileSync(path.join(dir, `${uidAt(i)}.json`), historyFile(i, 2));
      // One big history: loading it takes a while, long enough for a switch to arrive meanwhile.
      writeFileSync(path.join(dir, `${BIG}.json`), historyFile(0, 60_000));
    },
  });
  const historyDir = () => path.join(harness.fixture.root, 'chat_history', 'mao_pro_001');
  const replies = (client: TestClient) => client.frames.filter((f) => REPLY_TYPES.has(f.type)).map((f) => f.type);

  async function pageOpen(): Promise<TestClient> {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    for (const type of OPEN_REQUESTS) client.send({ type });
    await client.next('new-history-created');
    return client;
  }

  test('100 page opens with 200 histories on disk: every open gets its four replies in request order', async () => {
    for (let open = 0; open < 100; open++) {
      const client = await pageOpen();
      expect(replies(client)).toEqual(OPEN_REPLIES);
      expect((client.ofType('history-list')[0]!.histories as unknown[]).length).toBe(201);
      await client.close();
    }
  });

  test('200 page opens leave no new file: a history is written with its first message', async () => {
    const before = readdirSync(historyDir()).sort();
    for (let open = 0; open < 200; open++) await (await pageOpen()).close();
    expect(readdirSync(historyDir()).sort()).toEqual(before);
  });

  test('a slow fetch-and-set-history still running when switch-config arrives is never applied nor answered after it', async () => {
    harness.fake.llm = () => ({ tokens: tokens('New character here.') });
    const client = await pageOpen();
    client.send({ type: 'fetch-and-set-history', history_uid: BIG });
    client.send({ type: 'heartbeat' });
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await client.next('config-switched');
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack', 2);
    const after = replies(client).slice(replies(client).indexOf('config-switched'));
    expect(after).toEqual(['config-switched', 'heartbeat-ack']);
    // The memory of the new character's session is its own: nothing of the old history landed in it.
    const uid = client.ofType('set-model-and-conf')[0]!.client_uid as string;
    const session = harness.server.actor.system.get(`session:${uid}`) as AnyActorRef;
    expect(session.getSnapshot().context.memory).toEqual([]);
    expect(session.getSnapshot().context.historyUid).toBeNull();
    // Both heartbeats were answered, in order, whatever the switch stopped.
    expect(client.ofType('heartbeat-ack')).toHaveLength(2);
    await client.close();
  });

  test('a history copied in by hand appears in the next list; one deleted by hand disappears', async () => {
    const client = await pageOpen();
    const copied = '2031-01-01_00-00-00_0123456789abcdef0123456789abcdef';
    writeFileSync(path.join(historyDir(), `${copied}.json`), historyFile(7, 1, '2031-01-01T00:00:00'));
    unlinkSync(path.join(historyDir(), `${uidAt(3)}.json`));
    client.send({ type: 'fetch-history-list' });
    const list = (await client.next('history-list', 2)).histories as Array<{ uid: string }>;
    expect(list[0]!.uid).toBe(copied);
    expect(list.map((h) => h.uid)).not.toContain(uidAt(3));
    await client.close();
  });

  test('bad input keeps its answers: an invalid uid gets one error, and the replies around it stay in order', async () => {
    const client = await pageOpen();
    client.send({ type: 'fetch-and-set-history', history_uid: '../../conf' });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    const tail = client.frames.slice(-2).map((f) => f.type);
    expect(tail).toEqual(['error', 'heartbeat-ack']);
    expect(client.ofType('error')[0]!.message).toMatch(/is not a valid history_uid/);
    await client.close();
  });
});

const BIG = '2020-01-01_00-00-00_00000000000000000000000000000big';

function uidAt(i: number): string {
  return `2025-01-01_00-00-00_${i.toString(16).padStart(32, '0')}`;
}

function historyFile(i: number, messages: number, timestamp = '2025-01-01T00:00:00'): string {
  const entries: unknown[] = [{ role: 'metadata', timestamp }];
  for (let m = 0; m < messages; m++) {
    entries.push({ role: m % 2 ? 'ai' : 'human', timestamp, content: `message ${m} of conversation ${i}`, name: m % 2 ? 'Mao' : 'Human' });
  }
  return JSON.stringify(entries);
}
