import { readdirSync, readFileSync } from 'node:fs';

/** Active libuv resources by kind (`TCPSocketWrap`, `Timeout`, …). */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

/** Pids whose parent is `pid`, read from /proc. */
export function childPids(pid = process.pid): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Polls until `probe()` equals `expected` (JSON-equal) or `ms` passes; returns the last value. */
export async function settleTo<T>(probe: () => T, expected: T, ms = 2000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = probe();
  while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    value = probe();
  }
  return value;
}
