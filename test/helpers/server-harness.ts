import { startFakeAiServer, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from './engine-config.js';
import { makeFixtureRoot } from './fixture-root.js';
import { startTestServer } from './test-server.js';

type Fixture = ReturnType<typeof makeFixtureRoot>;
type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/**
 * The real server on `fixture`, started in `beforeAll` (after `hooks.before`) and stopped in `afterAll`, which also
 * removes the fixture. `server` is filled in before the first test runs.
 */
export function useTestServer(
  fixture: Fixture,
  options?: Parameters<typeof startTestServer>[1],
  hooks: { before?: () => Promise<void>; after?: () => Promise<void> } = {},
): { server: TestServer } {
  const harness = {} as { server: TestServer };
  beforeAll(async () => {
    await hooks.before?.();
    harness.server = await startTestServer(fixture.root, options);
  });
  afterAll(async () => {
    await harness.server?.stop();
    await hooks.after?.();
    fixture.cleanup();
  });
  return harness;
}

export interface Harness {
  fixture: Fixture;
  fake: FakeAiServer;
  server: TestServer;
}

/**
 * The set-up most turn tests share: a fixture working directory whose character talks to the fake AI server, and the
 * real server on it. The fields are filled in before the first test runs.
 */
export function useFakeEngineServer(
  options: { conf?: Record<string, unknown>; prepare?: (fixture: Fixture, fake: FakeAiServer) => void; start?: Parameters<typeof startTestServer>[1] } = {},
): Harness {
  const fixture = makeFixtureRoot();
  const harness = { fixture } as Harness;
  const started = useTestServer(fixture, options.start, {
    async before() {
      harness.fake = await startFakeAiServer();
      useFakeEngines(fixture.root, harness.fake.baseUrl, options.conf);
      options.prepare?.(fixture, harness.fake);
    },
    after: () => harness.fake?.close(),
  });
  return Object.defineProperty(harness, 'server', { get: () => started.server, enumerable: true });
}
