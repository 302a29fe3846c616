import type { DownloadProgress } from './model-download.js';

const WIDTH = 30;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/**
 * Shows a download's progress: a redrawn bar on a terminal, otherwise one log line per tenth (or per 50 MB when the
 * size is unknown), so logs piped to a file stay readable.
 */
export function downloadProgressReporter(
  label: string,
  log: (line: string) => void,
  out: NodeJS.WriteStream = process.stderr,
): { update(p: DownloadProgress): void; done(): void } {
  let lastStep = -1;
  let drawnAt = 0;
  return {
    update({ received, total }) {
      const step = total ? Math.floor((received / total) * 10) : Math.floor(received / (50 * 1024 * 1024));
      if (out.isTTY) {
        const now = Date.now();
        if (now - drawnAt < 100 && received !== total) return;
        drawnAt = now;
        const fraction = total ? received / total : 0;
        const filled = Math.round(fraction * WIDTH);
        const bar = total ? `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(fraction * 100)}% ` : '';
        out.write(`\r${label} ${bar}${mb(received)}${total ? `/${mb(total)}` : ''} MB`);
      } else if (step !== lastStep) {
        lastStep = step;
        log(`${label}: ${mb(received)}${total ? ` of ${mb(total)}` : ''} MB`);
      }
    },
    done() {
      if (out.isTTY) out.write('\n');
    },
  };
}
