import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { REPO_ROOT } from './fixture-root.js';

/** The project's own MCP stdio test server (plain JavaScript). */
export const MCP_TEST_SERVER = path.join(REPO_ROOT, 'test/fakes/mcp-test-server.mjs');

/**
 * A spec for mcp_servers.json that runs the test server through a shell wrapper (the way `npx`/`uvx` servers run:
 * the tool server is a grandchild, `sleep` with --grandchild a great-grandchild). Every process of it carries `tag`
 * on its command line, so a test can find them in /proc wherever they end up.
 */
export function shellWrappedServer(flags: string[] = [], tag = `vas-mcp-${randomUUID()}`) {
  const command = `"${process.execPath}" ${MCP_TEST_SERVER} ${[...flags, `--tag=${tag}`].join(' ')}; status=$?; exit $status`;
  return { spec: { command: 'sh', args: ['-c', command] }, tag };
}

/** The same, launched directly. */
export function directServer(flags: string[] = [], tag = `vas-mcp-${randomUUID()}`) {
  return { spec: { command: process.execPath, args: [MCP_TEST_SERVER, ...flags, `--tag=${tag}`] }, tag };
}
