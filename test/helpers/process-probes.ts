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

/** Every descendant pid of `pid`, from /proc. */
export function descendants(pid = process.pid): number[] {
  return childPids(pid).flatMap((p) => [p, ...descendants(p)]);
}

/** A process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Live processes whose command line contains `marker`, wherever they are in the process tree: an orphaned
 * grandchild is re-parented to init and would escape a walk down from us.
 */
export function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(marker) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** Descendants of `pid` whose command line names `program` (a speech program started by the program launcher). */
export function runningPrograms(program: string, pid = process.pid): number[] {
  return descendants(pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]!.endsWith(program);
    } catch {
      return false;
    }
  });
}
