import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { useTestServer } from '../helpers/server-harness.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

describe('bad input gets exactly one clear error and changes nothing else (U4)', () => {
  const fixture = makeFixtureRoot();
  const harness = useTestServer(fixture, { mutate: (app) => (app.system.ws_max_payload_bytes = 64 * 1024) });

  const cases: Array<[string, unknown, RegExp]> = [
    ['invalid JSON', '{"type": "heartbeat"', /^Invalid frame: not valid JSON/],
    ['a JSON array', '[1,2,3]', /expected a JSON object with a "type" field, got an array/],
    ['a JSON string', '"heartbeat"', /expected a JSON object with a "type" field, got a string/],
    ['JSON null', 'null', /got null/],
    ['no type', { text: 'hi' }, /the "type" field is missing or not a string/],
    ['a numeric type', { type: 7 }, /the "type" field is missing or not a string/],
    ['an unknown type', { type: 'make-coffee' }, /^Unknown message type "make-coffee"$/],
    ['switch-config without file', { type: 'switch-config' }, /^Invalid "switch-config" frame: "file" is required and must be a string$/],
    ['switch-config with a numeric file', { type: 'switch-config', file: 3 }, /"file" is required and must be a string/],
    ['switch-config with an empty file', { type: 'switch-config', file: '' }, /"file" must not be empty/],
    ['fetch-and-set-history without history_uid', { type: 'fetch-and-set-history' }, /"history_uid" is required/],
    ['delete-history with a list as history_uid', { type: 'delete-history', history_uid: ['x'] }, /"history_uid" is required and must be a string/],
    ['add-client-to-group without invitee_uid', { type: 'add-client-to-group' }, /"invitee_uid" is required/],
    ['remove-client-from-group without target_uid', { type: 'remove-client-from-group' }, /"target_uid" is required/],
    ['text-input without text', { type: 'text-input', images: [] }, /Invalid "text-input" frame: field "text": expected string/],
    ['mic-audio-data with strings', { type: 'mic-audio-data', audio: ['a'] }, /Invalid "mic-audio-data" frame: field "audio.0": expected number/],
    ['text-input with malformed images', { type: 'text-input', text: 'x', images: [{ source: 'camera' }] }, /field "images.0.data"/],
  ];

  test.each(cases)('%s', async (_name, frame, pattern) => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send(frame);
    // Whatever the bad frame causes is sent before the answer to the heartbeat that follows it.
    await client.roundTrip();
    expect(client.frames.slice(5)).toEqual([{ type: 'error', code: 'invalid_frame', message: expect.stringMatching(pattern) }, { type: 'heartbeat-ack' }]);
    await client.close();
  });

  test('a binary frame', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.ws.send(Buffer.from('{"type":"heartbeat"}'), { binary: true });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    expect(client.frames.slice(5)).toEqual([
      { type: 'error', code: 'invalid_frame', message: 'Binary frames are not supported: send JSON text frames' },
      { type: 'heartbeat-ack' },
    ]);
    await client.close();
  });

  test('raw audio with voice detection off (the shipped conf) is a clear "not supported" naming the key, and the session goes on', async () => {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'raw-audio-data', audio: [0.1, 0.2] });
    client.send({ type: 'heartbeat' });
    await client.next('heartbeat-ack');
    expect(client.frames.slice(5)).toEqual([
      { type: 'error', code: 'not_supported', message: '"raw-audio-data" needs voice detection on the server: set vad_config.vad_model to silero_vad' },
      { type: 'heartbeat-ack' },
    ]);
    // An invite to nobody is a clear refusal, not an error of the session.
    client.send({ type: 'add-client-to-group', invitee_uid: 'someone' });
    await client.next('group-update', 3); // two came with the connect sequence
    expect(client.frames.slice(7)).toEqual([
      { type: 'group-operation-result', success: false, message: 'Invitee someone does not exist' },
      { type: 'group-update', members: [], is_owner: false },
    ]);
    await client.close();
  });

  test('an oversized frame closes that socket only (1009); its session is cleaned up, others go on', async () => {
    const victim = await TestClient.connect(harness.server.wsUrl);
    const bystander = await TestClient.connect(harness.server.wsUrl);
    await Promise.all([victim.ready(), bystander.ready()]);
    expect(harness.server.sessionCount()).toBe(2);
    victim.send({ type: 'text-input', text: 'x'.repeat(70 * 1024), images: [] });
    expect(await victim.closed).toBe(1009);
    await until('the victim\'s session is gone', () => harness.server.sessionCount() === 1);
    bystander.send({ type: 'heartbeat' });
    await bystander.next('heartbeat-ack');
    await bystander.close();
    await until('every session actor is gone', () => harness.server.sessionCount() === 0);
    expect(harness.server.census.countExcept(SERVER_ACTOR_KINDS)).toBe(0);
  });
});
