import path from 'node:path';
import { makeFixtureRoot } from '../helpers/fixture-root.js';
import { killWriterRepeatedly } from '../helpers/history-crash.js';

/** Soak (npm run test:soak); the default suite kills the writer 10 times (history-store.test.ts). */
describe('history crash safety, at length', () => {
  const fixture = makeFixtureRoot();
  afterAll(() => fixture.cleanup());

  test('a writer killed with SIGKILL 200 times; the file always parses and holds every acknowledged message', async () => {
    await killWriterRepeatedly(path.join(fixture.root, 'chat_history'), 200);
  }, 300_000);
});
