import { megabytes } from './fs-helpers.js';
/**
 * A one-line progress bar for a terminal (`\r`-redrawn, at most every 100 ms); nothing when the stream is not a
 * TTY (logs and pipes get one line at the start and one at the end from the caller instead).
 */
export interface ProgressBar {
  update(received: number, total: number | undefined): void;
  /** Ends the line (the next log line starts on a fresh one). */
  finish(): void;
}

const WIDTH = 30;
const mb = (n: number) => megabytes(n);

export function progressBar(title: string, out: NodeJS.WriteStream = process.stdout): ProgressBar | undefined {
  if (!out.isTTY) return undefined;
  let lastDraw = 0;
  let drawn = false;
  const draw = (received: number, total: number | undefined) => {
    const share = total ? Math.min(1, received / total) : 0;
    const bar = total ? `[${'#'.repeat(Math.round(share * WIDTH)).padEnd(WIDTH, '-')}] ${String(Math.floor(share * 100)).padStart(3)}%` : '';
    out.write(`\r${title} ${bar} ${mb(received)}${total ? `/${mb(total)}` : ''} MB `);
    drawn = true;
  };
  let last: [number, number | undefined] = [0, undefined];
  return {
    update(received, total) {
      last = [received, total];
      const now = Date.now();
      if (now - lastDraw < 100 && received !== total) return;
      lastDraw = now;
      draw(received, total);
    },
    finish() {
      if (!drawn) return;
      draw(...last);
      out.write('\n');
    },
  };
}
