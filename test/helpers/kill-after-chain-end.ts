import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startFakeAiServer, tokens, type FakeAiServer } from '../fakes/fake-ai-server.js';
import { useFakeEngines } from './engine-config.js';
import { makeFixtureRoot } from './fixture-root.js';
import { runServerProcess } from './server-process.js';
import { TestClient } from './ws-client.js';

/**
 * docs/decisions.md, 8: what the client was told has ended is on disk before it is told. The server is killed with SIGKILL
 * the moment `conversation-chain-end` reaches the client; the reply must be in the history file every time.
 * 5 cycles here; the soak suite runs more (turn-on-disk-before-chain-end.soak.test.ts), `KILL_CYCLES=N` any number.
 */
export function describeKillAfterChainEnd(defaultCycles: number): void {
const CYCLES = Number(process.env.KILL_CYCLES ?? defaultCycles);

describe('a turn is on disk before its chain ends', () => {
  const fixture = makeFixtureRoot();
  let fake: FakeAiServer;
  beforeAll(async () => {
    fake = await startFakeAiServer();
    fake.llm = (body) => ({ tokens: tokens(`Reply to ${String(body.messages.at(-1).content)}. It is saved.`) });
    useFakeEngines(fixture.root, fake.baseUrl);
  });
  afterAll(async () => {
    await fake.close();
    fixture.cleanup();
  });

  test(`SIGKILL right after conversation-chain-end, ${CYCLES} times: every such turn is in its history file`, async () => {
    const dir = path.join(fixture.root, 'chat_history', 'mao_pro_001');
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const server = runServerProcess(fixture.root, ['--port', '0', '--host', '127.0.0.1']);
      try {
        const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
        const client = await TestClient.connect(`${url!.replace('http', 'ws')}/client-ws`);
        await client.ready();
        client.send({ type: 'create-new-history' });
        const uid = (await client.next('new-history-created')).history_uid as string;
        client.send({ type: 'text-input', text: `message ${cycle}`, images: [] });
        await client.next('backend-synth-complete', 1, 10_000);
        // Kill on the very frame, before anything else runs in this process.
        const killed = new Promise<void>((resolve) =>
          client.ws.on('message', (data) => {
            if (String(data).includes('conversation-chain-end')) {
              server.child.kill('SIGKILL');
              resolve();
            }
          }),
        );
        client.send({ type: 'frontend-playback-complete' });
        await killed;
        await server.exited;
        const file = path.join(dir, `${uid}.json`);
        expect(existsSync(file)).toBe(true);
        const entries = JSON.parse(readFileSync(file, 'utf8')) as Array<{ role: string; content?: string }>;
        expect(entries.slice(1).map((e) => [e.role, e.content])).toEqual([
          ['human', `message ${cycle}`],
          ['ai', `Reply to message ${cycle}. It is saved.`],
        ]);
      } finally {
        server.child.kill('SIGKILL');
      }
    }
  }, 60_000 + CYCLES * 5_000);
});
}
