import type { McpServerSpec } from '../src/mcp/mcp-server-spec.js';
import type { McpToolInfo } from '../src/mcp/tool-catalog.js';

/**
 * The contract of an `mcpServer` actor slot (one MCP tool server process, src/mcp/mcp-server-actor.ts implements
 * it): what it is started with, the commands it takes and what it reports to its parent. A session's toolbox and
 * the server's shared tool servers use the same slot.
 */

export interface McpServerInput {
  /** The server's name in mcp_servers.json (messages and logs say it). */
  name: string;
  spec: McpServerSpec;
  clientUid: string;
  /** Bound on starting the server: the process, the MCP handshake and the tool list (system_config.mcp_start_timeout_seconds). */
  startTimeoutMs: number;
  /** Bound on one tool call (system_config.mcp_call_timeout_seconds; the server's own `timeout` wins). */
  callTimeoutMs: number;
  /** The tool list from an earlier discovery of the same configuration: it is not asked for again. */
  knownTools?: McpToolInfo[];
}

export type McpCommand =
  | { type: 'mcp.call'; callId: string; tool: string; args: Record<string, unknown> }
  /** The caller is gone (the turn was interrupted): the request is cancelled at the server. */
  | { type: 'mcp.cancel'; callId: string };

/** What an `mcpServer` actor reports to its parent. */
export type McpEvent =
  | { type: 'mcp.ready'; server: string; tools: McpToolInfo[] }
  | { type: 'mcp.failed'; server: string; message: string }
  | { type: 'mcp.result'; server: string; callId: string; content: string; isError: boolean }
  | { type: 'mcp.exited'; server: string };

/** Both bounds, as a caller hands them to whoever starts the server. */
export interface McpBounds {
  startTimeoutMs: number;
  callTimeoutMs: number;
}
