import type { McpServerSpec } from './mcp-server-spec.js';
import type { McpToolInfo } from './tool-catalog.js';

/**
 * Tool lists by server configuration, shared by all sessions: discovery runs once per configuration
 * (docs/upstream-defects.md, U3: upstream started every server twice on every connect to list its tools). Owned by the
 * running server, not a module.
 */
export class ToolListCache {
  private readonly lists = new Map<string, McpToolInfo[]>();

  static key(spec: McpServerSpec): string {
    return JSON.stringify([spec.command, spec.args, spec.env ?? {}, spec.cwd ?? '']);
  }

  get(spec: McpServerSpec): McpToolInfo[] | undefined {
    return this.lists.get(ToolListCache.key(spec));
  }

  put(spec: McpServerSpec, tools: McpToolInfo[]): void {
    this.lists.set(ToolListCache.key(spec), tools);
  }
}
