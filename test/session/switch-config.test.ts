import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { SwitchGate } from '../helpers/slow-switch.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

function addSecondModel(write: (rel: string, content: string) => string, root: string) {
  const models = (JSON.parse(readFileSync(path.join(root, 'model_dict.json'), 'utf8')) as Array<Record<string, unknown>>).filter((m) => m.name !== 'shizuku');
  models.push({ ...models[0], name: 'shizuku', url: '/live2d-models/shizuku/shizuku.model3.json', emotionMap: { joy: 1 } });
  write('model_dict.json', JSON.stringify(models, null, 2));
}

describe('switch-config (docs/protocol.md: Switching character; U21, U22, U24)', () => {
  const fixture = makeFixtureRoot();
  addSecondModel(fixture.write, fixture.root);
  fixture.write('characters/uses_shizuku.yaml', "character_config:\n  conf_name: 'shizuku_fan'\n  conf_uid: 'shizuku_fan'\n  live2d_model_name: 'shizuku'\n");
  fixture.write('characters/broken.yaml', "character_config:\n  conf_name: 'broken'\n  tts_config:\n    tts_model: 'no_such_tts'\n");
  fixture.write('characters/missing_model.yaml', "character_config:\n  conf_name: 'lost'\n  live2d_model_name: 'nobody'\n");
  fixture.write('characters/not_yaml.yaml', 'character_config: [unclosed\n');
  // A sibling folder whose name starts like config_alts_dir: upstream's prefix check let it through (U21).
  fixture.write('characters_private/secret.yaml', "character_config:\n  conf_name: 'TOP-SECRET-VALUE'\n");
  const harness = useTestServer(fixture);

  async function connected() {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    return client;
  }

  test('success: set-model-and-conf (with client_uid) then config-switched; the new character stays active', async () => {
    const client = await connected();
    const uid = client.frames[2]!.client_uid;
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await client.next('config-switched');
    expect(client.frames.slice(5)).toEqual([
      expect.objectContaining({ type: 'set-model-and-conf', conf_name: 'unhelpful_ai', conf_uid: 'unhelpful_ai', client_uid: uid }),
      { type: 'config-switched', message: 'Switched to config: en_unhelpful_ai.yaml' },
    ]);
    expect((client.frames[5]!.model_info as { name: string }).name).toBe('mao_pro');
    client.send({ type: 'request-init-config' });
    expect(await client.next('set-model-and-conf', 3)).toMatchObject({ conf_uid: 'unhelpful_ai' });
    client.send({ type: 'switch-config', file: 'conf.yaml' });
    await client.next('config-switched', 2);
    expect(client.ofType('set-model-and-conf')[3]).toMatchObject({ conf_name: 'mao_pro', conf_uid: 'mao_pro_001' });
    await client.close();
  });

  test('an alternate is merged over conf.yaml, not over the current character (U22)', async () => {
    const client = await connected();
    client.send({ type: 'switch-config', file: 'uses_shizuku.yaml' });
    const first = await client.next('set-model-and-conf', 2);
    expect((first.model_info as { name: string }).name).toBe('shizuku');
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    const second = await client.next('set-model-and-conf', 3);
    // en_unhelpful_ai.yaml does not name a model: it gets conf.yaml's, not the previous character's.
    expect(second).toMatchObject({ conf_name: 'unhelpful_ai' });
    expect((second.model_info as { name: string }).name).toBe('mao_pro');
    await client.close();
  });

  test.each([
    ['broken.yaml', /broken\.yaml: character_config\.tts_config\.tts_model \(line 4\): expected one of .*"edge_tts".*got "no_such_tts"/],
    ['missing_model.yaml', /missing_model\.yaml: character_config\.live2d_model_name.*"nobody" is not a model in model_dict\.json \(available: mao_pro, shizuku\)/],
    ['not_yaml.yaml', /not_yaml\.yaml: .*not valid YAML/],
  ])('failure (%s): one error naming file and key, then the current set-model-and-conf; the old config stays', async (file, pattern) => {
    const client = await connected();
    client.send({ type: 'switch-config', file });
    await client.next('set-model-and-conf', 2);
    const after = client.frames.slice(5);
    expect(after).toHaveLength(2);
    expect(after[0]!.type).toBe('error');
    expect(after[0]!.message).toMatch(/^Error switching configuration: /);
    expect(after[0]!.message).toMatch(pattern);
    expect(after[1]).toMatchObject({ type: 'set-model-and-conf', conf_uid: 'mao_pro_001', client_uid: client.frames[2]!.client_uid });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    client.send({ type: 'request-init-config' });
    expect(await client.next('set-model-and-conf', 3)).toMatchObject({ conf_uid: 'mao_pro_001' });
    await client.close();
  });

  test.each([
    '../characters_private/secret.yaml',
    '../conf.yaml',
    '/etc/passwd',
    '..\\conf.yaml',
    'en_unhelpful_ai.yaml/../../conf.yaml',
    './en_unhelpful_ai.yaml',
    'en_unhelpful_ai.yaml\u0000.png',
    'missing.yaml',
  ])('only a file fetch-configs lists is accepted: %j is refused without reading it', async (file) => {
    const client = await connected();
    client.send({ type: 'switch-config', file });
    await client.next('set-model-and-conf', 2);
    const error = client.frames[5]!;
    expect(error.type).toBe('error');
    expect(error.message).toContain('not a character file this server lists');
    expect(error.message).not.toContain('TOP-SECRET');
    expect(client.frames[6]).toMatchObject({ type: 'set-model-and-conf', conf_uid: 'mao_pro_001' });
    await client.close();
  });
});

describe('switch-config while a switch is running', () => {
  const fixture = makeFixtureRoot();
  const gate = new SwitchGate();
  const harness = useTestServer(fixture, { actorsFor: (app) => ({ loadCharacter: gate.loader(app) }) });
  beforeEach(() => gate.reset());

  test('a second switch stops the first load and starts the new one: one answer, for the second file', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await until('the first load started', () => gate.started.length === 1);
    client.send({ type: 'switch-config', file: 'en_storyteller.yaml' });
    await until('the second load started', () => gate.started.length === 2);
    expect(gate.aborted).toEqual(['en_unhelpful_ai.yaml']);
    gate.open();
    await client.next('config-switched');
    // The first load was aborted while it was held: opening the gate cannot complete it.
    expect({ started: gate.started, aborted: gate.aborted, finished: gate.finished }).toEqual({
      started: ['en_unhelpful_ai.yaml', 'en_storyteller.yaml'],
      aborted: ['en_unhelpful_ai.yaml'],
      finished: ['en_storyteller.yaml'],
    });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    expect(client.frames.slice(5)).toEqual([
      expect.objectContaining({ type: 'set-model-and-conf', conf_name: 'storyteller' }),
      { type: 'config-switched', message: 'Switched to config: en_storyteller.yaml' },
      { type: 'heartbeat-ack' },
    ]);
    await client.close();
  });

  test('a disconnect during a switch stops the load; the session and all its actors are gone', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await until('the load started', () => gate.started.length === 1);
    expect(harness.server.sessionCount()).toBe(1);
    await client.close();
    await until('the session is gone', () => harness.server.sessionCount() === 0);
    expect(gate.aborted).toEqual(['en_unhelpful_ai.yaml']);
    expect(harness.server.census.countExcept(SERVER_ACTOR_KINDS)).toBe(0);
    // Opened now, the gate lets a later switch through; the aborted load, released first, never completes.
    gate.open();
    const later = await TestClient.connect(harness.server.wsUrl);
    await later.ready();
    later.send({ type: 'switch-config', file: 'en_storyteller.yaml' });
    await later.next('config-switched');
    expect(gate.finished).toEqual(['en_storyteller.yaml']);
    await later.close();
  });

  test('conversation input during a switch is refused with a clear error, and the switch completes', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    client.send({ type: 'text-input', text: 'quick!', images: [] });
    await client.next('error');
    gate.open();
    await client.next('config-switched');
    expect(client.frames.slice(5)).toEqual([
      { type: 'error', code: 'busy_switching', message: '"text-input" arrived during a character switch; send it again once the new character is loaded' },
      expect.objectContaining({ type: 'set-model-and-conf', conf_name: 'unhelpful_ai' }),
      { type: 'config-switched', message: 'Switched to config: en_unhelpful_ai.yaml' },
    ]);
    await client.close();
  });

  test('a slow switch does not block other sessions (U23)', async () => {
    const slow = await TestClient.connect(harness.server.wsUrl);
    await slow.ready();
    slow.send({ type: 'switch-config', file: 'en_unhelpful_ai.yaml' });
    await until('the load started', () => gate.started.length === 1);
    // While the load is held, another client connects and is answered, and so is the switching one.
    const other = await TestClient.connect(harness.server.wsUrl);
    await other.ready();
    other.send({ type: 'heartbeat' });
    await other.next('heartbeat-ack');
    slow.send({ type: 'heartbeat' });
    await slow.next('heartbeat-ack');
    expect(slow.ofType('config-switched')).toHaveLength(0);
    expect(gate.finished).toEqual([]);
    gate.open();
    await slow.next('config-switched');
    await Promise.all([slow.close(), other.close()]);
  });
});
