import { spawn } from 'node:child_process';
import { compiledFile } from '../helpers/compiled-sources.js';
import { REPO_ROOT } from '../helpers/fixture-root.js';
import { startHttp10Server, type Http10Server } from '../downloads/http10-server.js';

/**
 * An engine that answers HTTP/1.0 (the body ends when it closes the connection: Flask's and python's development
 * servers) while the turn reads its stream slowly. With undici holding such a body paused, the close failed an
 * assertion in a socket handler and ended the process (nodejs/undici#5360); engine-http.ts now takes the body as it
 * comes. The reader runs in a child process, so a crash shows as its exit code; each case repeats, since the close
 * meeting a paused body is a race.
 */

/** The reader's program, importing the compiled sources (test/helpers/compiled-sources.ts). */
const script = () => `
const { engineRequest } = await import(${JSON.stringify(compiledFile('src/engines/engine-http.ts'))});
const { bodyText } = await import(${JSON.stringify(compiledFile('src/engines/llm/llm-engine.ts'))});
const [url, mode, times] = process.argv.slice(1);
const out = [];
for (let i = 0; i < Number(times); i++) {
  const res = await engineRequest(url, { method: 'POST', body: '{}', signal: new AbortController().signal });
  let n = 0;
  try {
    if (mode === 'late') {
      await new Promise((r) => setTimeout(r, 100));
      for await (const chunk of res.body) n += chunk.length;
    } else {
      for await (const text of bodyText(res)) { n += text.length; await new Promise((r) => setTimeout(r, 20)); }
    }
    out.push('ok ' + n);
  } catch (err) {
    out.push('error ' + err.message);
  }
}
process.stdout.write(out.join(','));
`;

function read(url: string, mode: 'slow' | 'late', times: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script(), url, mode, String(times)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr: stderr.slice(-2000) }));
  });
}

describe('an engine answer that ends at the close, read slowly, never takes the process down', () => {
  let host: Http10Server;
  const body = Buffer.alloc(200_000, 'a');
  beforeAll(async () => {
    host = await startHttp10Server();
    host.routes.set('/with-length', { body });
    host.routes.set('/close-only', { body, contentLength: false });
    host.routes.set('/cut', { body, cutAfter: 100_000 });
  });
  afterAll(() => host.close());

  test.each([
    ['/with-length', 'slow'],
    ['/close-only', 'slow'],
    ['/with-length', 'late'],
    ['/close-only', 'late'],
  ] as const)('%s read %s: every byte arrives, the process lives', async (route, mode) => {
    const outcome = await read(`${host.base}${route}`, mode, 3);
    expect({ code: outcome.code, stderr: outcome.code === 0 ? '' : outcome.stderr }).toEqual({ code: 0, stderr: '' });
    expect(outcome.stdout).toBe(['ok 200000', 'ok 200000', 'ok 200000'].join(','));
  }, 60_000);

  test('an answer cut short of its Content-Length is an error the reader sees, and the process lives', async () => {
    const outcome = await read(`${host.base}/cut`, 'slow', 2);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.split(',')).toEqual([expect.stringMatching(/^error /), expect.stringMatching(/^error /)]);
  }, 60_000);
});
