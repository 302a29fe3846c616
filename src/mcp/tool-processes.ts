/**
 * Tool server process groups that are being ended, owned by the running server: a stopped `mcpServer` actor hands
 * over the promise of its group's end (SIGTERM, then SIGKILL after a grace period), and the server's stop waits for
 * all of them, so the process never exits while a tool server it started could outlive it.
 */
export class ToolProcesses {
  private readonly closing = new Set<Promise<void>>();

  track(closing: Promise<void>): void {
    const settled = closing.catch(() => undefined).finally(() => this.closing.delete(settled));
    this.closing.add(settled);
  }

  /** Resolves once every group handed over so far is gone. */
  async drain(): Promise<void> {
    while (this.closing.size > 0) await Promise.all([...this.closing]);
  }
}
