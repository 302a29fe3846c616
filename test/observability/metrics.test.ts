import { tokens } from '../fakes/fake-ai-server.js';
import { settleTo } from '../helpers/process-probes.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';
import { SERVER_ACTOR_KINDS } from '../../src/server/start-server.js';

/** `name{labels} value` lines of the Prometheus text format, as a map. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe('/metrics (Prometheus text format) follows sessions, turns and errors, and returns to zero', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.playback_slack_seconds': 0.2 } });

  test('values move as a client connects, talks, is interrupted, errs and leaves', async () => {
    const before = await scrape(harness.server.url);
    expect(before.get('vas_sessions')).toBe(0);
    expect(before.get('vas_turns_total')).toBe(0);
    expect(before.get('vas_mcp_processes{scope="shared"}')).toBe(0);
    expect(before.get('vas_mcp_processes{scope="per_session"}')).toBe(0);

    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    expect((await scrape(harness.server.url)).get('vas_sessions')).toBe(1);
    expect((await scrape(harness.server.url)).get('vas_live_actors{kind="session"}')).toBe(1);

    harness.fake.llm = () => ({ tokens: tokens('One sentence. Two sentences.') });
    client.send({ type: 'text-input', text: 'hi', images: [] });
    await client.next('backend-synth-complete');
    client.send({ type: 'frontend-playback-complete' });
    await client.next('force-new-message');

    harness.fake.llm = () => ({ tokens: tokens('A long story starts here. And goes on. And on. And on.'), delayMs: 30 });
    client.send({ type: 'text-input', text: 'story', images: [] });
    await client.next('audio', 3);
    client.send({ type: 'interrupt-signal', text: '' });
    client.send({ type: 'interrupt-signal', text: '' }); // no turn running any more: not counted
    client.send('{oops');

    harness.fake.llm = () => ({ tokens: tokens('Nobody listens.') });
    client.send({ type: 'text-input', text: 'again', images: [] });
    await client.next('force-new-message', 2, 3000); // the playback wait ends by its bound
    await client.roundTrip();

    const during = await scrape(harness.server.url);
    expect(during.get('vas_turns_total')).toBe(3);
    expect(during.get('vas_interrupts_total')).toBe(1);
    // Counted by the frame's stable code, not its wording; the frame itself carries the code.
    expect(during.get('vas_errors_total{code="invalid_frame"}')).toBe(1);
    expect(client.ofType('error')).toEqual([expect.objectContaining({ code: 'invalid_frame', message: expect.any(String) })]);
    expect(during.get('vas_playback_wait_timeouts_total')).toBe(1);
    expect(during.get('vas_llm_first_text_seconds_count')).toBe(3);
    expect(during.get('vas_tts_synthesis_seconds_count')).toBeGreaterThanOrEqual(3);

    await client.close();
    await settleTo(() => harness.server.sessionCount(), 0);
    const final = await scrape(harness.server.url);
    expect(final.get('vas_sessions')).toBe(0);
    const serverKinds: ReadonlySet<string> = new Set(SERVER_ACTOR_KINDS);
    const sessionKinds = [...final].filter(([k, v]) => k.startsWith('vas_live_actors') && !serverKinds.has(/kind="([^"]+)"/.exec(k)?.[1] ?? '') && v !== 0);
    expect(sessionKinds).toEqual([]);
  });
});
