import { z } from 'zod';

/** One stdio tool server of `mcp_servers.json` (upstream's format, docs/features.md, 'MCP tools'). */
export const mcpServerSpecSchema = z.looseObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  /** Seconds to wait for one tool call (upstream passed it wrongly; here it is honoured). */
  timeout: z.number().positive().optional(),
  /**
   * Ours, not upstream's: run one process of this server per session (started by the session, ended with it) instead
   * of one warm process shared by every session. For servers that keep state per user (a browser they drive).
   */
  per_session: z.boolean().optional(),
});

export type McpServerSpec = z.infer<typeof mcpServerSpecSchema>;
