import { createActor, fromCallback, type EventObject } from 'xstate';
import type { McpCommand, McpEvent, McpServerInput } from '../../machines/mcp-server-protocol.js';
import type { McpToolInfo } from '../../src/mcp/tool-catalog.js';

export const ECHO_TOOLS: McpToolInfo[] = [{ name: 'echo', inputSchema: { type: 'object' } }];

/**
 * A stand-in for the MCP process actor (the `mcpServer` / `sharedMcpServer` slot): it reports ready at once (with
 * `tools`, or the tools it was told it knows), answers `echo` calls with their text, holds every other call until
 * cancelled, and records what happened to it: `start <n> <name>[ (tools known)]`, each command, `end <n>`.
 * `ready: false` leaves the start pending until the test reports it (`control(n)`).
 */
export function fakeMcpProcesses(options: { tools?: McpToolInfo[]; ready?: boolean } = {}) {
  const tools = options.tools ?? ECHO_TOOLS;
  const log: string[] = [];
  let started = 0;
  const live = new Set<number>();
  const inputs: McpServerInput[] = [];
  const controls = new Map<number, (event: McpEvent) => void>();
  const logic = fromCallback<McpCommand, McpServerInput, EventObject>(({ input, sendBack, receive }) => {
    const n = ++started;
    live.add(n);
    inputs.push(input);
    controls.set(n, sendBack);
    log.push(`start ${n} ${input.name}${input.knownTools ? ' (tools known)' : ''}`);
    if (options.ready !== false) queueMicrotask(() => sendBack({ type: 'mcp.ready', server: input.name, tools: input.knownTools ?? tools }));
    receive((command) => {
      log.push(`${command.type} ${command.callId}`);
      if (command.type === 'mcp.call' && command.tool === 'echo') {
        sendBack({ type: 'mcp.result', server: input.name, callId: command.callId, content: String(command.args.text), isError: false });
      }
    });
    return () => {
      live.delete(n);
      log.push(`end ${n}`);
    };
  });
  return {
    logic,
    log,
    live,
    inputs,
    started: () => started,
    /** What process `n` reports to its parent. */
    control: (n: number) => controls.get(n)!,
    crash: (n: number) => controls.get(n)!({ type: 'mcp.exited', server: inputs[n - 1]!.name }),
  };
}

/** An actor that records what it is sent (the answers to calls made in its name). */
export function recorder() {
  const got: EventObject[] = [];
  const ref = createActor(fromCallback<EventObject>(({ receive }) => receive((e) => void got.push(e)))).start();
  return { ref, got };
}
