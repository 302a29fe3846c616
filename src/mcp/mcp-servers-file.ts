import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../config/config-error.js';
import { mcpServerSpecSchema, type McpServerSpec } from './mcp-server-spec.js';

const fileSchema = z.object({ mcp_servers: z.record(z.string(), z.unknown()).default({}) });

/** `mcp_servers.json`: every server validated on its own, so an error names the server and the key. */
export async function loadMcpServers(file: string, shownAs = 'mcp_servers.json'): Promise<Record<string, McpServerSpec>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(shownAs, '', `cannot read the file (${(err as NodeJS.ErrnoException).code})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(shownAs, '', `not valid JSON: ${(err as Error).message}`);
  }
  const top = fileSchema.safeParse(data);
  if (!top.success) throw new ConfigError(shownAs, 'mcp_servers', 'expected an object of servers by name');
  const servers: Record<string, McpServerSpec> = {};
  for (const [name, spec] of Object.entries(top.data.mcp_servers)) {
    const result = mcpServerSpecSchema.safeParse(spec, { reportInput: true });
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const key = ['mcp_servers', name, ...issue.path.map(String)].join('.');
      throw new ConfigError(shownAs, key, `server "${name}": ${issue.message.replace(/^Invalid input: /, '')}`);
    }
    servers[name] = result.data;
  }
  return servers;
}
