// The project's own tiny MCP stdio server for the tests (plain JavaScript, so it starts in a blink without a loader).
// Tools: `add` (a + b), `echo` (text), `wait` (answers after `ms`). Fault modes by argument: --garbage (prints
// non-JSON lines between answers), --hang (never answers `add`), --exit-on-call (exits in the middle of `add`),
// --grandchild (starts a long-lived `sleep` child, as npx/uvx wrappers do), --fail-start (exits before the handshake),
// --slow-start=<ms> (answers nothing before then, as a first npx/uvx start that downloads), --ignore-term (survives
// SIGTERM and the end of its stdin). --log=<file> appends one line per event a test may want to observe: `start <pid>`,
// `call <tool> <request id>`, `cancelled <tool> <request id>` (the client's notifications/cancelled reached the tool).
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const mode = new Set(process.argv.slice(2));
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const logFile = option('log');
const log = (line) => {
  if (logFile) appendFileSync(logFile, `${line}\n`);
};
log(`start ${process.pid}`);
if (mode.has('--ignore-term')) {
  // Ignores SIGTERM and the end of stdin: only SIGKILL ends it.
  process.on('SIGTERM', () => log(`ignored SIGTERM ${process.pid}`));
  setInterval(() => undefined, 1000);
}
if (option('slow-start')) await new Promise((resolve) => setTimeout(resolve, Number(option('slow-start'))));
if (mode.has('--fail-start')) {
  process.stderr.write('cannot start: scripted failure\n');
  process.exit(2);
}
if (mode.has('--grandchild')) spawn('sleep', ['300'], { stdio: 'ignore' });
if (mode.has('--garbage')) {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => {
    write('this is not json\n');
    return write(chunk, ...rest);
  };
}

const server = new McpServer({ name: 'vas-test-tools', version: '1.0.0' });
server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number().describe('first'), b: z.number().describe('second') } }, async ({ a, b }) => {
  if (mode.has('--exit-on-call')) process.exit(3);
  if (mode.has('--hang')) await new Promise(() => undefined);
  return { content: [{ type: 'text', text: String(a + b) }] };
});
server.registerTool('echo', { description: 'Repeats the text', inputSchema: { text: z.string() } }, async ({ text }) => ({
  content: [{ type: 'text', text }],
}));
server.registerTool('wait', { description: 'Answers after a while', inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
  log(`call wait ${extra.requestId}`);
  const cancelled = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    extra.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (cancelled) log(`cancelled wait ${extra.requestId}`);
  return { content: [{ type: 'text', text: `waited ${ms} ms` }] };
});
await server.connect(new StdioServerTransport());
