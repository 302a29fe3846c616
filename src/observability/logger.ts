import winston from 'winston';

export type Logger = winston.Logger;

/**
 * The process logger. Sessions log through `logger.child({ client_uid })` so every line a session causes can be
 * found by its client id. `LOG_LEVEL` overrides the level; tests pass `silent: true`.
 */
export function createLogger(options: { level?: string; silent?: boolean } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  return winston.createLogger({
    level,
    silent: options.silent ?? false,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.printf((info) => {
        const { timestamp, level: lvl, message, client_uid: clientUid, ...rest } = info as Record<string, unknown>;
        const who = clientUid ? ` [${String(clientUid).slice(0, 8)}]` : '';
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
        return `${String(timestamp)} ${String(lvl)}${who}: ${String(message)}${extra}`;
      }),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
