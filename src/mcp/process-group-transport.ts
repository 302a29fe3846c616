import { spawn, type ChildProcess } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerSpec } from './mcp-server-spec.js';

/** After SIGTERM, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 1000;
/** How often a closing transport looks whether its group is gone. */
const GROUP_CHECK_MS = 20;

/**
 * An MCP stdio transport whose server runs in a process group of its own, so that closing it ends the whole group:
 * servers launched through `npx`, `uvx` or `sh -c` start grandchildren that the SDK's transport, which signals only
 * its direct child, leaves running (docs/decisions.md, 12). A line that is not JSON-RPC is reported and skipped.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private child?: ChildProcess;
  private readonly buffer = new ReadBuffer();
  private closed = false;
  /** close() is ending the group: the leader's exit must not cut the others' grace period short. */
  private closing = false;

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
      if (!this.closing) this.killGroup('SIGKILL'); // grandchildren of a server that died on its own
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

  /** True while any process of the group is left (zombies included). */
  private groupAlive(): boolean {
    const pid = this.child?.pid;
    if (pid === undefined) return false;
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Ends the whole process group: SIGTERM, then SIGKILL for whatever is left after a grace period. The grace period
   * is the group's, not only the leader's: a wrapper (`sh -c`, `npx`) dies at SIGTERM at once, while the server it
   * started may still be saving its state.
   */
  async close(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    this.closing = true;
    this.child.stdin?.end();
    this.killGroup('SIGTERM');
    const deadline = Date.now() + KILL_GRACE_MS;
    await new Promise<void>((resolve) => {
      const look = () => {
        const leaderGone = child.exitCode !== null || child.signalCode !== null;
        if ((leaderGone && !this.groupAlive()) || Date.now() >= deadline) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(look, GROUP_CHECK_MS);
      look();
    });
    this.killGroup('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    if (!this.closed) {
      this.closed = true;
      this.onclose?.();
    }
  }
}
