import type { Logger } from 'pino';

/** Which output of a runner a line came from. */
export type OutputStream = 'stdout' | 'stderr';

const PINO_LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** What a runner agent logs as it stops, before its reason ("runner stopping: idle"). */
export const STOPPING_MESSAGE = 'runner stopping: ';

/** A relayed line as a log tail keeps it: `<level>: <message>`. */
export function tailLine(level: string, text: string): string {
  return `${level}: ${text}`;
}

/** Fields of a runner's pino line that the parent's own logger already has or rewrites. */
const DROPPED_FIELDS = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'msg',
  'v',
  'runnerId',
  'pool',
]);

/**
 * Re-logs one output line of a runner through the parent's logger and returns its short form
 * for the tail. The runner agent logs pino JSON: those lines keep their level and fields.
 * Other lines are a task's own output (console.log, console.error, a library's warnings):
 * stdout goes out at info and stderr at warn, so what a task writes to stderr shows at the
 * default level and its console.log once the level is info.
 */
export function relayRunnerLine(logger: Logger, stream: OutputStream, line: string): string {
  const record = parsePinoLine(line);
  if (!record) {
    logger[stream === 'stderr' ? 'warn' : 'info']({ stream }, line);
    return line;
  }

  const level = PINO_LEVELS[record.level as number] ?? 'info';
  // The runner's pid and host name are kept, renamed, beside the parent's own.
  const fields: Record<string, unknown> = {
    stream,
    runnerPid: record.pid,
    runnerHost: record.hostname,
  };
  for (const [key, value] of Object.entries(record)) {
    if (!DROPPED_FIELDS.has(key)) fields[key] = value;
  }
  const msg = typeof record.msg === 'string' ? record.msg : '';
  logger[level](fields, msg);

  const err = record.err as { type?: unknown; message?: unknown } | undefined;
  const hasError = err && typeof err === 'object' && err.message;
  const detail = hasError ? ` (${String(err.type ?? 'Error')}: ${String(err.message)})` : '';
  return tailLine(level, `${msg}${detail}`);
}

function parsePinoLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record: unknown = JSON.parse(line);
    const level = (record as { level?: unknown } | null)?.level;
    if (record && typeof record === 'object' && typeof level === 'number') {
      return record as Record<string, unknown>;
    }
  } catch {
    // Not JSON after all: logged as plain text.
  }
  return undefined;
}
