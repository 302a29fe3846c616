/**
 * The project's own tiny MCP stdio server for the tests. Tools: `add` (a + b) and `echo` (text). Fault modes by
 * argument: --garbage (prints non-JSON lines between answers), --hang (never answers a tool call), --exit-on-call
 * (exits in the middle of a call), --grandchild (starts a long-lived `sleep` child, as npx/uvx wrappers do).
 */
import { spawn } from 'node:child_process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const mode = new Set(process.argv.slice(2));
if (mode.has('--grandchild')) spawn('sleep', ['300'], { stdio: 'ignore' });
if (mode.has('--garbage')) {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    write('this is not json\n');
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
}

const server = new McpServer({ name: 'vas-test-tools', version: '1.0.0' });
server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => {
  if (mode.has('--exit-on-call')) process.exit(3);
  if (mode.has('--hang')) await new Promise(() => undefined);
  return { content: [{ type: 'text', text: String(a + b) }] };
});
server.registerTool('echo', { description: 'Repeats the text', inputSchema: { text: z.string() } }, async ({ text }) => ({
  content: [{ type: 'text', text }],
}));
await server.connect(new StdioServerTransport());
