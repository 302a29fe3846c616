import type { ToolDefinition } from '../engines/llm/llm-request.js';

/** A tool as a server lists it (`tools/list`). */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** The tools of several servers, as the model sees them. A name offered by two servers goes to the later one (upstream). */
export function toolDefinitions(byServer: Record<string, McpToolInfo[] | undefined>): ToolDefinition[] {
  const byName = new Map<string, ToolDefinition>();
  for (const [server, tools] of Object.entries(byServer)) {
    for (const tool of tools ?? []) {
      byName.set(tool.name, { name: tool.name, description: tool.description ?? '', inputSchema: tool.inputSchema ?? {}, server });
    }
  }
  return [...byName.values()];
}

/** The prompt-mode listing (upstream's format): per server its tools, their parameters and what is required. */
export function promptListing(tools: readonly ToolDefinition[]): string {
  const servers = [...new Set(tools.map((t) => t.server))];
  return servers
    .map((server) => {
      const lines = [`Server: ${server}`, '  Tools:'];
      for (const tool of tools.filter((t) => t.server === server)) {
        lines.push(`    ${tool.name}:`, `      Description: ${tool.description || 'No description provided.'}`);
        const properties = (tool.inputSchema.properties ?? {}) as Record<string, { type?: string; description?: string; title?: string }>;
        if (Object.keys(properties).length > 0) {
          lines.push('      Parameters:');
          for (const [name, prop] of Object.entries(properties)) {
            lines.push(`        ${name}:`, `          Type: ${prop.type ?? 'string'}`, `          Description: ${prop.description ?? prop.title ?? 'No description provided.'}`);
          }
        }
        const required = (tool.inputSchema.required ?? []) as string[];
        if (required.length > 0) lines.push(`      Required: ${required.join(', ')}`);
      }
      return lines.join('\n');
    })
    .join('\n\n');
}

const LISTING_PLACEHOLDER = '[<insert_mcp_servers_with_tools>]';

/** The system prompt of a prompt-mode call: the character's prompt, then the tool instructions with the listing. */
export function promptModeSystem(system: string, template: string, tools: readonly ToolDefinition[]): string {
  const listing = promptListing(tools);
  const instructions = template.includes(LISTING_PLACEHOLDER) ? template.replace(LISTING_PLACEHOLDER, () => listing) : `${template}\n${listing}`;
  return `${system}\n\n${instructions.trim()}`;
}
