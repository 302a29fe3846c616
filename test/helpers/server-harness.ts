import { startFakeAiServer, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from './engine-config.js';
import { makeFixtureRoot } from './fixture-root.js';
import { startTestServer } from './test-server.js';

export interface Harness {
  fixture: ReturnType<typeof makeFixtureRoot>;
  fake: FakeAiServer;
  server: Awaited<ReturnType<typeof startTestServer>>;
}

/**
 * The set-up most integration tests share: a fixture working directory whose character talks to the fake AI server,
 * and the real server on it — started in `beforeAll`, stopped and removed in `afterAll`. The fields are filled in
 * before the first test runs.
 */
export function useFakeEngineServer(
  options: { conf?: Record<string, unknown>; prepare?: (fixture: Harness['fixture'], fake: FakeAiServer) => void; start?: Parameters<typeof startTestServer>[1] } = {},
): Harness {
  const harness = { fixture: makeFixtureRoot() } as Harness;
  beforeAll(async () => {
    harness.fake = await startFakeAiServer();
    useFakeEngines(harness.fixture.root, harness.fake.baseUrl, options.conf);
    options.prepare?.(harness.fixture, harness.fake);
    harness.server = await startTestServer(harness.fixture.root, options.start);
  });
  afterAll(async () => {
    await harness.server?.stop();
    await harness.fake?.close();
    harness.fixture.cleanup();
  });
  return harness;
}
