import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';

const UPSTREAM_UID = '2025-05-01_12-00-00_0123456789abcdef0123456789abcdef';

describe('history over the WebSocket (docs/protocol.md: History; U35–U37)', () => {
  const harness = useFakeEngineServer({
    prepare: (fixture) => {
      mkdirSync(historyDir(), { recursive: true });
      writeFileSync(
        path.join(historyDir(), `${UPSTREAM_UID}.json`),
        JSON.stringify([
          { role: 'metadata', timestamp: '2025-05-01T12:00:00' },
          { role: 'human', timestamp: '2025-05-01T12:00:05', content: 'Tell me a story', name: 'Human' },
          { role: 'ai', timestamp: '2025-05-01T12:00:09', content: 'Once upon a time', name: 'Mao', avatar: 'mao.png' },
          { role: 'system', timestamp: '2025-05-01T12:00:10', content: '[Interrupted by user]' },
        ]),
      );
    },
  });
  const historyDir = () => path.join(harness.fixture.root, 'chat_history', 'mao_pro_001');
  const fileOf = (uid: string) => JSON.parse(readFileSync(path.join(historyDir(), `${uid}.json`), 'utf8')) as Array<Record<string, unknown>>;

  /** Connects like the web client: fetch-history-list, then create-new-history. */
  async function connectLikeTheClient() {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'fetch-history-list' });
    client.send({ type: 'create-new-history' });
    const created = await client.next('new-history-created');
    return { client, uid: created.history_uid as string };
  }

  async function turn(client: TestClient, text: string, n: number) {
    client.send({ type: 'text-input', text, images: [] });
    await client.next('backend-synth-complete', n);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('force-new-message', n);
  }

  test('the connect sequence, then a turn recorded as human + ai (sentences joined with a space), then listed', async () => {
    harness.fake.llm = () => ({ tokens: tokens('[joy] Hello there! How are you?') });
    const { client, uid } = await connectLikeTheClient();
    expect(client.ofType('history-list')[0]!.histories).toEqual([
      { uid: UPSTREAM_UID, latest_message: { role: 'system', timestamp: '2025-05-01T12:00:10', content: '[Interrupted by user]' }, timestamp: '2025-05-01T12:00:10' },
    ]);
    expect(uid).toMatch(/^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_[0-9a-f]{32}$/);
    await turn(client, 'Hi!', 1);
    await harness.server.history.flush();
    expect(fileOf(uid)).toEqual([
      { role: 'metadata', timestamp: expect.any(String) },
      { role: 'human', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/), content: 'Hi!', name: 'Human' },
      { role: 'ai', timestamp: expect.any(String), content: '[joy] Hello there! How are you?', name: 'Mao', avatar: 'mao.png' },
    ]);
    client.send({ type: 'fetch-history-list' });
    const list = (await client.next('history-list', 2)).histories as Array<{ uid: string }>;
    expect(list[0]!.uid).toBe(uid);
    await client.close();
  });

  test('history-list, written from the bytes the index keeps, is a text frame like every other', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const kinds: boolean[] = [];
    client.ws.on('message', (_data, isBinary) => kinds.push(isBinary));
    client.send({ type: 'fetch-history-list' });
    const list = (await client.next('history-list')).histories as Array<{ uid: string }>;
    expect(list.map((h) => h.uid)).toContain(UPSTREAM_UID);
    expect(kinds).toEqual([false]);
    await client.close();
  });

  test('fetch-and-set-history: history-data without system entries, and the memory becomes that conversation', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Where were we?') });
    const { client } = await connectLikeTheClient();
    client.send({ type: 'fetch-and-set-history', history_uid: UPSTREAM_UID });
    const data = await client.next('history-data');
    expect(data.messages).toEqual([
      { role: 'human', timestamp: '2025-05-01T12:00:05', content: 'Tell me a story', name: 'Human' },
      { role: 'ai', timestamp: '2025-05-01T12:00:09', content: 'Once upon a time', name: 'Mao', avatar: 'mao.png' },
    ]);
    const before = harness.fake.chatRequests().length;
    await turn(client, 'Go on', 1);
    expect(harness.fake.chatRequests()[before]!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: 'Once upon a time' },
      { role: 'user', content: '[Interrupted by user]' }, // openai_compatible_llm: interrupt_method "user"
      { role: 'user', content: 'Go on' },
    ]);
    await harness.server.history.flush();
    expect(fileOf(UPSTREAM_UID).slice(-2).map((m) => m.content)).toEqual(['Go on', 'Where were we?']);
    await client.close();
  });

  test.each([
    ['traversal', '../../../conf'],
    ['an absolute path', '/etc/passwd'],
    ['an empty-ish uid', ' '],
    ['a huge uid', 'x'.repeat(5000)],
    ['another character\'s file name', '../storyteller_001/2025-05-01_12-00-00_0123456789abcdef0123456789abcdef'],
  ])('a bad history_uid (%s): a clear error, and the current history stays current (U35)', async (_name, bad) => {
    harness.fake.llm = () => ({ tokens: tokens('Still recorded.') });
    const { client, uid } = await connectLikeTheClient();
    const filesBefore = readdirSync(path.join(harness.fixture.root, 'chat_history')).sort();
    client.send({ type: 'fetch-and-set-history', history_uid: bad });
    client.send({ type: 'delete-history', history_uid: bad });
    await client.next('error', 2);
    expect(client.ofType('error').map((e) => e.message)).toEqual([
      expect.stringMatching(/^".*" is not a valid history_uid \(letters, digits, "_" and "-", at most 128\)$/),
      expect.stringMatching(/is not a valid history_uid/),
    ]);
    expect(client.ofType('history-data')).toEqual([]);
    await turn(client, 'after the bad uid', 1);
    await harness.server.history.flush();
    expect(fileOf(uid).map((m) => m.content)).toEqual([undefined, 'after the bad uid', 'Still recorded.']);
    expect(readdirSync(path.join(harness.fixture.root, 'chat_history')).sort()).toEqual(filesBefore);
    await client.close();
  });

  test('a history_uid that does not exist: a clear error for fetch-and-set-history, success:false for delete-history', async () => {
    const { client, uid } = await connectLikeTheClient();
    const missing = '2030-01-01_00-00-00_00000000000000000000000000000000';
    client.send({ type: 'fetch-and-set-history', history_uid: missing });
    expect((await client.next('error')).message).toBe(`history ${missing} does not exist`);
    client.send({ type: 'delete-history', history_uid: missing });
    expect(await client.next('history-deleted')).toEqual({ type: 'history-deleted', success: false, history_uid: missing });
    expect(readdirSync(historyDir())).not.toContain(`${missing}.json`);
    // A page open writes nothing: the new history's file appears with its first message.
    expect(readdirSync(historyDir())).not.toContain(`${uid}.json`);
    await client.close();
  });

  test('delete-history answers history-deleted; deleting the current one stops recording', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Gone.') });
    const { client, uid } = await connectLikeTheClient();
    await turn(client, 'recorded', 1);
    client.send({ type: 'delete-history', history_uid: uid });
    expect(await client.next('history-deleted')).toEqual({ type: 'history-deleted', success: true, history_uid: uid });
    await turn(client, 'not recorded', 2);
    await harness.server.history.flush();
    expect(readdirSync(historyDir())).not.toContain(`${uid}.json`);
    client.send({ type: 'delete-history', history_uid: uid });
    expect(await client.next('history-deleted', 2)).toEqual({ type: 'history-deleted', success: false, history_uid: uid });
    await client.close();
  });

  test('an interrupt records the heard part and the marker; a disconnect while waiting for playback keeps the reply', async () => {
    harness.fake.llm = () => ({ tokens: tokens('First part here. Second part there. Third part too.'), delayMs: 20 });
    const { client, uid } = await connectLikeTheClient();
    client.send({ type: 'text-input', text: 'Talk', images: [] });
    await client.next('audio');
    client.send({ type: 'interrupt-signal', text: 'First part here.' });
    harness.fake.llm = () => ({ tokens: tokens('Short reply.') });
    client.send({ type: 'text-input', text: 'Again', images: [] });
    await client.next('backend-synth-complete');
    await client.close(); // before frontend-playback-complete
    await until('the session is gone', () => harness.server.sessionCount() === 0);
    await harness.server.history.flush();
    expect(fileOf(uid).slice(1).map((m) => [m.role, m.content])).toEqual([
      ['human', 'Talk'],
      ['ai', 'First part here.'],
      ['system', '[Interrupted by user]'],
      ['human', 'Again'],
      ['ai', 'Short reply.'],
    ]);
  });

  test('after a character switch nothing is recorded until the client creates a history, and never under the old conf_uid', async () => {
    harness.fake.llm = () => ({ tokens: tokens('New me.') });
    const { client, uid } = await connectLikeTheClient();
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await client.next('config-switched');
    await turn(client, 'before create-new-history', 1);
    client.send({ type: 'create-new-history' });
    const fresh = (await client.next('new-history-created', 2)).history_uid as string;
    await turn(client, 'after create-new-history', 2);
    await harness.server.history.flush();
    expect(readdirSync(historyDir())).not.toContain(`${uid}.json`); // nothing in the old character's folder
    const newFile = JSON.parse(readFileSync(path.join(harness.fixture.root, 'chat_history', 'unhelpful_ai', `${fresh}.json`), 'utf8')) as Array<{ content?: string; name?: string }>;
    expect(newFile.slice(1).map((m) => [m.content, m.name])).toEqual([
      ['after create-new-history', 'Human'],
      ['New me.', 'Grumpy'],
    ]);
    await client.close();
  });

  test('20 sessions appending to the same history at once lose no message', async () => {
    harness.fake.llm = (body) => ({ tokens: tokens(`Reply to ${String(body.messages.at(-1).content)}.`) });
    const { client: owner, uid } = await connectLikeTheClient();
    await turn(owner, 'message by the owner', 1);
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = await TestClient.connect(harness.server.wsUrl);
        await c.ready();
        c.send({ type: 'fetch-and-set-history', history_uid: uid });
        await c.next('history-data');
        return c;
      }),
    );
    await Promise.all(clients.map((c, i) => turn(c, `message ${i}`, 1)));
    await harness.server.history.flush();
    const contents = fileOf(uid).slice(3).map((m) => m.content as string);
    expect(contents).toHaveLength(40);
    for (let i = 0; i < 20; i++) {
      expect(contents).toContain(`message ${i}`);
      expect(contents).toContain(`Reply to message ${i}.`);
    }
    await Promise.all([owner, ...clients].map((c) => c.close()));
  });

  test('a big history-list (fragments on the wire) arrives as one whole text message, and stays current', async () => {
    const many = Array.from({ length: 600 }, (_, i) => `2024-01-01_00-00-00_${i.toString(16).padStart(32, '0')}`);
    for (const [i, uid] of many.entries()) {
      writeFileSync(
        path.join(historyDir(), `${uid}.json`),
        JSON.stringify([{ role: 'metadata', timestamp: '2024-01-01T00:00:00' }, { role: 'ai', timestamp: '2024-01-01T00:00:00', content: `[joy] ${'words '.repeat(60)}${i}` }]),
      );
    }
    harness.fake.llm = () => ({ tokens: tokens('Newest.') });
    const { client, uid } = await connectLikeTheClient();
    const kinds: boolean[] = [];
    client.ws.on('message', (_data, isBinary) => kinds.push(isBinary));
    const first = client.ofType('history-list')[0]!.histories as Array<{ uid: string; latest_message: { content: string } }>;
    expect(first.length).toBeGreaterThanOrEqual(600);
    expect(JSON.stringify(first).length).toBeGreaterThan(128 * 1024);
    expect(first.map((h) => h.uid)).toEqual(expect.arrayContaining(many));
    expect(first.find((h) => h.uid === many[0])!.latest_message.content).toMatch(/^words /); // the tag hidden
    await turn(client, 'one more', 1);
    await harness.server.history.flush();
    client.send({ type: 'fetch-history-list' });
    const second = (await client.next('history-list', 2)).histories as Array<{ uid: string }>;
    expect(second[0]!.uid).toBe(uid);
    expect(second).toHaveLength(first.length + 1);
    expect(kinds.filter((binary) => binary)).toEqual([]);
    await client.close();
  });
});
