import pino, { type Logger } from 'pino';

/** The level used when the user gives no logger: `FLAME_LOG_LEVEL`, else `warn`. */
export function defaultLevel(): string {
  return process.env.FLAME_LOG_LEVEL || 'warn';
}

/** The user's logger, a silent one for `false`, or a default pino logger. */
export function resolveLogger(logger: Logger | false | undefined): Logger {
  if (logger === false) return pino({ enabled: false });
  return logger ?? pino({ level: defaultLevel(), name: 'flame' });
}
