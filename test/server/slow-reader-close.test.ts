import { Writable } from 'node:stream';
import winston from 'winston';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { scrapeMetrics } from '../helpers/metrics-scrape.js';
import { TestClient, until } from '../helpers/ws-client.js';

type F = Record<string, any>;

/** Log records as objects, to find the line that names a client. */
function memoryLogger() {
  const records: F[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      records.push(JSON.parse(String(chunk)) as F);
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, records };
}


/**
 * Backpressure (docs/decisions.md, 9): a client that does not read while what is queued for it keeps growing (no audio involved: large
 * history answers) is disconnected with 1013 once the queue passes four times ws_max_buffered_bytes, with a log
 * line naming it and a metric; another client is served throughout.
 */
describe('a client whose queue keeps growing is closed (1013)', () => {
  const log = memoryLogger();
  const harness = useFakeEngineServer({
    conf: { 'system_config.ws_max_buffered_bytes': 65536, 'system_config.ws_ping_interval_seconds': 0, 'system_config.playback_slack_seconds': 0.2 },
    start: { logger: log.logger },
  });

  test('closed with a log line naming it and a metric; the other client is not disturbed', async () => {
    const slow = await TestClient.connect(harness.server.wsUrl);
    await slow.ready();
    const uid = (slow.ofType('set-model-and-conf')[0] as F).client_uid as string;
    slow.send({ type: 'create-new-history' });
    const historyUid = (await slow.next('new-history-created')).history_uid as string;
    // A history of about 1 MB: each fetch-and-set-history answer is that large.
    harness.fake.llm = () => ({ tokens: tokens('Noted.') });
    slow.send({ type: 'text-input', text: 'x'.repeat(1_000_000), images: [] });
    await slow.next('backend-synth-complete');
    slow.send({ type: 'frontend-playback-complete' });
    await slow.waitUntil((fs) => fs.some((f) => f.type === 'control' && f.text === 'conversation-chain-end'), 5000, 'chain end');
    await harness.server.history.flush();

    const other = await TestClient.connect(harness.server.wsUrl);
    await other.ready();

    slow.ws.pause();
    for (let i = 0; i < 40; i++) slow.send({ type: 'fetch-and-set-history', history_uid: historyUid });
    // Each scrape is a round trip through the server: the close is counted by the time one shows it.
    const closes = async () => (await scrapeMetrics(harness.server.url)).get('vas_backpressure_total{action="closed"}') ?? 0;
    let counted = await closes();
    for (let scrapes = 1; counted === 0 && scrapes < 500; scrapes++) counted = await closes();
    expect(counted).toBe(1);
    await until('the slow session ended', () => harness.server.sessionCount() === 1, 5000);
    expect(log.records).toContainEqual(expect.objectContaining({ client_uid: uid, level: 'warn', message: expect.stringMatching(/not reading \(\d+ bytes queued\): closing the connection \(1013\)/) }));

    // The other client was answered all along.
    other.send({ type: 'heartbeat' });
    await other.next('heartbeat-ack');
    expect(other.ws.readyState).toBe(other.ws.OPEN);

    slow.ws.resume();
    expect([1013, 1006]).toContain(await slow.closed);
    await other.close();
  });
});
