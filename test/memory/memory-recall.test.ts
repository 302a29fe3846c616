import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { memoryCaughtUp, systemText } from '../helpers/memory.js';

/**
 * Long-term memory through the real server, the fake LLM and real files: what was said in one conversation reaches
 * the prompt of a later one, and `/memory/search` answers what would be recalled.
 */

const CHARACTER = 'mao_pro_001';
const OLD_UID = '2026-11-20_09-00-00_0123456789abcdef0123456789abcdef';

describe('long-term memory (system_config.memory)', () => {
  const harness = useFakeEngineServer({
    conf: { 'system_config.memory': { enabled: true } },
    prepare: (fixture) => {
      // A conversation copied in by hand before the server started: reconciled at start.
      const dir = path.join(fixture.root, 'chat_history', CHARACTER);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, `${OLD_UID}.json`),
        JSON.stringify([
          { role: 'metadata', timestamp: '2026-11-20T09:00:00' },
          { role: 'human', timestamp: '2026-11-20T09:00:05', content: 'I have a parrot called Kiwi', name: 'Human' },
          { role: 'ai', timestamp: '2026-11-20T09:00:09', content: 'Kiwi is a wonderful name for a parrot!', name: 'Mao' },
        ]),
      );
    },
  });


  async function search(query: string, k = 5, character = CHARACTER) {
    const url = `${harness.server.url}/memory/search?character=${encodeURIComponent(character)}&q=${encodeURIComponent(query)}&k=${k}`;
    const res = await fetch(url);
    return { status: res.status, body: (await res.json()) as { results?: Array<Record<string, unknown>>; error?: string } };
  }



  test('told something in one conversation, the character recalls it in a later one (with its date and who said it)', async () => {
    harness.fake.llm = () => ({ tokens: tokens('Nice to meet Ana!') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    const first = (await client.next('new-history-created')).history_uid as string;
    await client.completeTurn("My sister's name is Ana.", 1);
    await memoryCaughtUp(harness.server);

    client.send({ type: 'create-new-history' });
    const second = (await client.next('new-history-created', 2)).history_uid as string;
    expect(second).not.toBe(first);
    harness.fake.llm = () => ({ tokens: tokens('Her name is Ana.') });
    await client.completeTurn('What is my sister called?', 2);
    const request = harness.fake.chatRequests().at(-1)!;
    const system = systemText(request.body);
    expect(system).toContain('Things you remember from earlier conversations');
    expect(system).toMatch(/\[\d{4}-\d\d-\d\d\] Human: My sister's name is Ana\./);
    // The current conversation's own lines are not recalled (they are in the messages already).
    await memoryCaughtUp(harness.server);
    harness.fake.llm = () => ({ tokens: tokens('Still Ana.') });
    await client.completeTurn('And my sister again?', 3);
    expect(systemText(harness.fake.chatRequests().at(-1)!.body)).not.toContain('What is my sister called?');
    await client.close();
  });

  test('the search endpoint answers what would be recalled, with each message\'s place in its file', async () => {
    await memoryCaughtUp(harness.server);
    const { status, body } = await search('parrot name', 3);
    expect(status).toBe(200);
    expect(body.results![0]).toEqual({
      history_uid: OLD_UID,
      index: expect.any(Number),
      role: expect.stringMatching(/^(human|ai)$/),
      name: expect.any(String),
      content: expect.stringContaining('parrot'),
      timestamp: expect.stringMatching(/^2026-11-20T09:00:0[59]$/),
      score: expect.any(Number),
    });
    expect(body.results!.map((r) => [r.index, r.content])).toEqual(
      expect.arrayContaining([[1, 'I have a parrot called Kiwi'], [2, 'Kiwi is a wonderful name for a parrot!']]),
    );
    expect(body.results!.length).toBeLessThanOrEqual(3);
  });

  test('bad parameters are a 400, an unknown character a 404', async () => {
    expect((await search('', 5)).status).toBe(400);
    expect((await search('parrot', 0)).status).toBe(400);
    expect((await search('parrot', 5, '..')).status).toBe(400);
    const unknown = await search('parrot', 5, 'nobody_here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual(expect.any(String));
    const missing = await fetch(`${harness.server.url}/memory/search?q=parrot`);
    expect(missing.status).toBe(400);
  });

  test('it is refused to a page of another origin, as /sessions is', async () => {
    const res = await fetch(`${harness.server.url}/memory/search?character=${CHARACTER}&q=parrot`, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
  });

  test('the memory page lists what is remembered, with its sources, and forgets a memory', async () => {
    await memoryCaughtUp(harness.server);
    const page = await fetch(`${harness.server.url}/memory`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Long-term memory');
    const get = async (p: string) => (await fetch(`${harness.server.url}${p}`)).json() as Promise<Record<string, any>>;
    expect((await get('/memory/characters')).characters).toEqual([{ conf_uid: CHARACTER, messages: expect.any(Number) }]);
    const { conversations } = await get(`/memory/conversations?character=${CHARACTER}`);
    expect(conversations).toEqual(expect.arrayContaining([{ history_uid: OLD_UID, messages: 2, first: '2026-11-20T09:00:05', last: '2026-11-20T09:00:09' }]));
    const { messages } = await get(`/memory/messages?character=${CHARACTER}&history_uid=${OLD_UID}`);
    expect(messages.map((m: { index: number; content: string }) => [m.index, m.content])).toEqual([[1, 'I have a parrot called Kiwi'], [2, 'Kiwi is a wonderful name for a parrot!']]);

    const forget = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${harness.server.url}/memory/forget`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect((await forget({ character: CHARACTER, history_uid: OLD_UID, index: 2 }, { 'content-type': 'text/plain' })).status).toBe(400);
    expect((await forget({ character: CHARACTER, history_uid: OLD_UID, index: 2 }, { 'content-type': 'application/json', origin: 'https://evil.example' })).status).toBe(403);
    const res = await forget({ character: CHARACTER, history_uid: OLD_UID, index: 2 });
    expect(await res.json()).toEqual({ forgotten: 1 });
    expect((await search('wonderful parrot')).body.results!.map((r) => r.content)).toEqual(['I have a parrot called Kiwi']);
  });

  test('a history copied in by hand while the server runs is found at the next history list (a page open)', async () => {
    const uid = '2026-11-25_10-00-00_00000000000000000000000000000abc';
    writeFileSync(
      path.join(harness.fixture.root, 'chat_history', CHARACTER, `${uid}.json`),
      JSON.stringify([{ role: 'metadata', timestamp: '2026-11-25T10:00:00' }, { role: 'human', timestamp: '2026-11-25T10:00:01', content: 'My grandmother lives in Valparaiso' }]),
    );
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'fetch-history-list' });
    await client.next('history-list');
    await memoryCaughtUp(harness.server);
    expect((await search('Valparaiso')).body.results!.map((r) => [r.history_uid, r.index])).toEqual([[uid, 1]]);
    await client.close();
  });

  test('delete-history forgets that conversation\'s memories', async () => {
    await memoryCaughtUp(harness.server);
    expect((await search('parrot')).body.results!.length).toBeGreaterThan(0);
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'delete-history', history_uid: OLD_UID });
    expect((await client.next('history-deleted')).success).toBe(true);
    await memoryCaughtUp(harness.server);
    expect((await search('parrot')).body.results).toEqual([]);
    await client.close();
  });
});

describe('long-term memory with memory.extract: what the character learned reaches a later conversation', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.memory': { enabled: true, extract: true } } });

  test('the model is asked for facts after the turn, and the fact is recalled, with its date, in the next conversation', async () => {
    harness.fake.llm = (body: { messages: Array<{ role: string; content: unknown }> }) =>
      systemText(body).startsWith('You keep notes about the user')
        ? { tokens: tokens('[{"subject": "user\'s sister\'s name", "fact": "The user\'s sister is called Ana."}]') }
        : { tokens: tokens('How nice.') };
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created');
    await client.completeTurn('I had lunch with my sister Ana today.', 1);
    await memoryCaughtUp(harness.server);
    const asked = harness.fake.chatRequests().filter((r) => systemText(r.body).startsWith('You keep notes'));
    expect(asked).toHaveLength(1);
    expect(JSON.stringify(asked[0]!.body.messages)).toContain('User: I had lunch with my sister Ana today.');

    client.send({ type: 'create-new-history' });
    await client.next('new-history-created', 2);
    client.send({ type: 'text-input', text: "What's my sister's name?", images: [] });
    await client.next('backend-synth-complete', 2);
    const system = systemText(harness.fake.chatRequests().at(-1)!.body);
    expect(system).toMatch(/\[\d{4}-\d\d-\d\d\] \(learned\) The user's sister is called Ana\./);
    const facts = await (await fetch(`${harness.server.url}/memory/facts?character=${CHARACTER}`)).json();
    expect(facts).toEqual({ facts: [expect.objectContaining({ fact: "The user's sister is called Ana.", first_index: 1, last_index: 2 })] });
    const forgot = await fetch(`${harness.server.url}/memory/forget-fact`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ character: CHARACTER, subject: "user's sister's name" }),
    });
    expect(await forgot.json()).toEqual({ forgotten: 1 });
    await client.close();
  });
});

describe('long-term memory with memory.extract: a switch or a disconnect stops the learning done for that session', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.memory': { enabled: true, extract: true } } });
  const learning = (r: { body: { messages: Array<{ role: string; content: unknown }> } }) =>
    r.body.messages.some((m) => m.role === 'system' && String(m.content).startsWith('You keep notes about the user'));
  const extractions = () => harness.fake.chatRequests().filter(learning);

  /** The model answers turns at once and holds every request to learn from them open until it is given up. */
  beforeEach(() => {
    harness.fake.llm = (body) => (learning({ body }) ? { tokens: [], stall: true } : { tokens: tokens('How nice.') });
  });


  test('a disconnect aborts the request to learn from its conversation; the conversation\'s next words are learned with it', async () => {
    const before = extractions().length;
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    const uid = (await client.next('new-history-created')).history_uid as string;
    await client.completeTurn('My cat is called Pixel.', 1);
    await until('the request to learn from the exchange', () => extractions().length === before + 1);
    const held = extractions().at(-1)!;
    expect(held.abortedAt).toBeUndefined();
    await client.close();
    await until('the request given up', () => held.abortedAt !== undefined);
    await memoryCaughtUp(harness.server);

    // Back in the same conversation: what was not learned then is asked for with what is new.
    harness.fake.llm = (body) => (learning({ body }) ? { tokens: tokens('[]') } : { tokens: tokens('How nice.') });
    const again = await TestClient.connect(harness.server.wsUrl);
    await again.ready();
    again.send({ type: 'fetch-and-set-history', history_uid: uid });
    await again.next('history-data');
    await again.completeTurn('She is three years old.', 1);
    await harness.server.history.flush();
    await memoryCaughtUp(harness.server);
    const resumed = JSON.stringify(extractions().at(-1)!.body.messages);
    expect(resumed).toContain('User: My cat is called Pixel.');
    expect(resumed).toContain('User: She is three years old.');
    await again.close();
  });

  test('a character switch aborts it too, and the session goes on talking', async () => {
    const before = extractions().length;
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'create-new-history' });
    await client.next('new-history-created');
    await client.completeTurn('I live in Lisbon.', 1);
    await until('the request to learn from the exchange', () => extractions().length === before + 1);
    const held = extractions().at(-1)!;
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await client.next('config-switched');
    await until('the request given up', () => held.abortedAt !== undefined);
    await memoryCaughtUp(harness.server);
    client.send({ type: 'text-input', text: 'Still there?', images: [] });
    await client.next('backend-synth-complete', 2);
    await client.close();
  });
});
