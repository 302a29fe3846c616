import { Writable } from 'node:stream';
import winston from 'winston';

/** A logger whose lines are kept (`level: message`), to see what the server said and to wait for a line. */
export function recordingLogger() {
  const lines: string[] = [];
  let waiters: Array<() => void> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8').trim());
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.printf((i) => `${i.level}: ${String(i.message)}`), transports: [new winston.transports.Stream({ stream })] });
  /** The first line (from `from` on) that matches, as soon as it is logged; rejects after `ms`. */
  async function line(pattern: RegExp, ms = 30_000, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const l of lines.slice(from)) {
        const match = pattern.exec(l);
        if (match) return match;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line matched ${pattern} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }
  return { logger, lines, line };
}
