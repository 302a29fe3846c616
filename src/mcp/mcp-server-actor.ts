import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../observability/logger.js';
import type { McpServerSpec } from './mcp-servers-file.js';
import { ProcessGroupStdioTransport } from './process-group-transport.js';
import type { McpToolInfo } from './tool-catalog.js';

export type { McpToolInfo };

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

export interface McpServerInput {
  name: string;
  spec: McpServerSpec;
  clientUid: string;
  /** Bound on starting the server and on one tool call (spec.timeout, in seconds, wins). */
  callTimeoutMs: number;
  /** The tool list from an earlier discovery of the same configuration: it is not asked for again. */
  knownTools?: McpToolInfo[];
}

/** A tool result as the client's `tool_call_status.content` shows it (UPSTREAM-BEHAVIOR §6.4). */
export function resultText(content: unknown, isError: boolean): string {
  const items = Array.isArray(content) ? (content as Array<{ type?: string; text?: string }>) : [];
  const text = items.find((i) => i.type === 'text')?.text ?? '';
  const images = items.filter((i) => i.type === 'image').length;
  const withImages = images > 0 ? `${text}\n[Tool returned ${images} image(s)]` : text;
  return isError ? `Error: ${withImages}` : withImages;
}

/**
 * One MCP tool server, as an actor: it starts the server (in its own process group), lists its tools
 * (`mcp.ready`), runs `mcp.call`s (each bounded by a timeout) and reports `mcp.result`. Its cleanup closes the client
 * and ends the process group, so a stopped session never leaves a tool server or its children behind (D3, D4).
 */
export function createMcpServerActor(logger: Logger) {
  return fromCallback<McpCommand, McpServerInput, EventObject>(({ input, sendBack, receive }) => {
    const log = logger.child({ client_uid: input.clientUid });
    const transport = new ProcessGroupStdioTransport(input.spec);
    const client = new Client({ name: 'vtuber-actor-server', version: '0.1.0' });
    const timeout = input.spec.timeout ? input.spec.timeout * 1000 : input.callTimeoutMs;
    let stopped = false;
    const report = (event: McpEvent) => {
      if (!stopped) sendBack(event);
    };
    transport.onerror = (err) => log.warn(`MCP server "${input.name}": ${err.message}`);
    transport.onclose = () => report({ type: 'mcp.exited', server: input.name });

    const ready = (async () => {
      await client.connect(transport, { timeout });
      const tools = input.knownTools ?? ((await client.listTools(undefined, { timeout })).tools as McpToolInfo[]);
      report({ type: 'mcp.ready', server: input.name, tools });
    })();
    ready.catch((err: unknown) => {
      log.warn(`MCP server "${input.name}" did not start: ${(err as Error).message}`);
      report({ type: 'mcp.failed', server: input.name, message: `tool server "${input.name}" did not start: ${(err as Error).message}` });
    });

    const inFlight = new Map<string, AbortController>();
    receive((command) => {
      if (command.type === 'mcp.cancel') {
        inFlight.get(command.callId)?.abort();
        return;
      }
      const controller = new AbortController();
      inFlight.set(command.callId, controller);
      void (async () => {
        try {
          await ready;
          controller.signal.throwIfAborted();
          const result = await client.callTool({ name: command.tool, arguments: command.args }, undefined, { timeout, signal: controller.signal });
          const isError = result.isError === true;
          report({ type: 'mcp.result', server: input.name, callId: command.callId, content: resultText(result.content, isError), isError });
        } catch (err) {
          if (controller.signal.aborted) return;
          const message = (err as Error).message;
          const text = /timed? ?out/i.test(message)
            ? `tool server "${input.name}" did not answer within ${Math.round(timeout / 1000)} s`
            : `tool server "${input.name}" failed: ${message}`;
          report({ type: 'mcp.result', server: input.name, callId: command.callId, content: `Error: ${text}`, isError: true });
        } finally {
          inFlight.delete(command.callId);
        }
      })();
    });

    return () => {
      stopped = true;
      void client.close().catch(() => undefined);
      void transport.close();
    };
  });
}
