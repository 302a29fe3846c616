import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerSpec } from './mcp-server-spec.js';

/** After SIGTERM, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 1000;

/**
 * An MCP stdio transport whose server runs in a process group of its own, so that closing it ends the whole group:
 * servers launched through `npx`, `uvx` or `sh -c` start grandchildren that the SDK's transport, which signals only
 * its direct child, leaves running (shared STACK.md). A line that is not JSON-RPC is reported and skipped.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child?: ChildProcess;
  private readonly buffer = new ReadBuffer();
  private closed = false;

  constructor(private readonly spec: McpServerSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.on('error', (err) => this.onerror?.(err));
    // A write to a server that is going away (EPIPE, write after end) fails that send; it must not be an uncaught error.
    child.stdin!.on('error', (err) => this.onerror?.(err));
    child.stderr!.resume(); // tool servers log there; it must not fill up
    child.stdout!.on('data', (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch (err) {
        this.onerror?.(err as Error);
        return;
      }
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          this.onerror?.(new Error(`the tool server printed something that is not JSON-RPC (${(err as Error).message.slice(0, 80)})`));
          continue;
        }
        if (!message) break;
        this.onmessage?.(message);
      }
    });
    child.on('exit', () => {
      this.killGroup('SIGKILL'); // grandchildren of a server that died on its own
      if (!this.closed) {
        this.closed = true;
        this.onclose?.();
      }
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) throw new Error('the tool server is not running');
    await new Promise<void>((resolve, reject) => stdin.write(serializeMessage(message), (err) => (err ? reject(err) : resolve())));
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is already gone
    }
  }

  /** Ends the whole process group: SIGTERM, then SIGKILL for whatever is left after a grace period. */
  async close(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    this.child.stdin?.end();
    this.killGroup('SIGTERM');
    const killer = setTimeout(() => this.killGroup('SIGKILL'), KILL_GRACE_MS);
    killer.unref();
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    // The leader is gone; make sure its group is too.
    this.killGroup('SIGKILL');
    clearTimeout(killer);
    if (!this.closed) {
      this.closed = true;
      this.onclose?.();
    }
  }
}
