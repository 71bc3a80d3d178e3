import pino, { type Logger } from 'pino';
import { ConfigurationError } from './errors';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The level used when the user gives no logger: `FLAME_LOG_LEVEL`, else `warn`. A value pino
 * does not know is a ConfigurationError naming the variable (pino's own would not).
 */
export function defaultLevel(): string {
  const level = process.env.FLAME_LOG_LEVEL || 'warn';
  if (!LEVELS.includes(level)) {
    throw new ConfigurationError(
      `FLAME_LOG_LEVEL must be one of ${LEVELS.join(', ')}; it is ${JSON.stringify(level)}`,
    );
  }
  return level;
}

/** The user's logger, a silent one for `false`, or a default pino logger. */
export function resolveLogger(logger: Logger | false | undefined): Logger {
  if (logger === false) return pino({ enabled: false });
  return logger ?? pino({ level: defaultLevel(), name: 'flame' });
}
