import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { fromCallback, type EventObject } from 'xstate';
import type { Logger } from '../observability/logger.js';
import { ProcessGroupStdioTransport } from './process-group-transport.js';
import type { McpCommand, McpEvent, McpServerInput } from '../../machines/mcp-server-protocol.js';
import type { ToolProcesses } from './tool-processes.js';
import type { McpToolInfo } from './tool-catalog.js';

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

/** A tool result as the client's `tool_call_status.content` shows it (docs/protocol.md, 'Tool status'). */
export function resultText(content: unknown, isError: boolean): string {
  const items = Array.isArray(content) ? (content as Array<{ type?: string; text?: string }>) : [];
  const text = items.find((i) => i.type === 'text')?.text ?? '';
  const images = items.filter((i) => i.type === 'image').length;
  const withImages = images > 0 ? `${text}\n[Tool returned ${images} image(s)]` : text;
  return isError ? `Error: ${withImages}` : withImages;
}

/** Rejects with `message` after `ms` unless `work` settles first (the timer is cleared either way). */
async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One MCP tool server, as an actor: it starts the server (in its own process group), lists its tools (`mcp.ready`),
 * runs `mcp.call`s and reports `mcp.result`. Starting is bounded by `startTimeoutMs` (a first `npx`/`uvx` start may
 * download packages), each call by `callTimeoutMs`. Its cleanup closes the client and ends the process group, so a
 * stopped owner never leaves a tool server or its children behind (docs/upstream-defects.md, U2); `processes` learns of
 * each close, so a server shutting down can wait for the groups to be gone.
 */
export function createMcpServerActor(logger: Logger, processes?: ToolProcesses) {
  return fromCallback<McpCommand, McpServerInput, EventObject>(({ input, sendBack, receive }) => {
    const log = logger.child({ client_uid: input.clientUid });
    const transport = new ProcessGroupStdioTransport(input.spec);
    const client = new Client({ name: 'vtuber-actor-server', version: '0.1.0' });
    const timeout = input.spec.timeout ? input.spec.timeout * 1000 : input.callTimeoutMs;
    const startTimeout = input.startTimeoutMs;
    let stopped = false;
    const report = (event: McpEvent) => {
      if (!stopped) sendBack(event);
    };
    transport.onerror = (err) => log.warn(`MCP server "${input.name}": ${err.message}`);
    transport.onclose = () => report({ type: 'mcp.exited', server: input.name });

    const ready = within(
      (async () => {
        await client.connect(transport, { timeout: startTimeout });
        const tools = input.knownTools ?? ((await client.listTools(undefined, { timeout: startTimeout })).tools as McpToolInfo[]);
        report({ type: 'mcp.ready', server: input.name, tools });
      })(),
      startTimeout,
      `no answer within ${seconds(startTimeout)} s`,
    );
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
            ? `tool server "${input.name}" did not answer within ${seconds(timeout)} s`
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
      const closing = transport.close();
      processes?.track(closing);
    };
  });
}
