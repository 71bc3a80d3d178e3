import type { RunnerExitInfo } from '@flame-node/core';

/** An error as a plain object, with the fields flame-node's errors add. */
export interface ErrorReport {
  name: string;
  message: string;
  code?: string;
  runnerId?: string;
  exitCode?: number | null;
  logTail?: string[];
  exit?: RunnerExitInfo;
}

/** A call's outcome, timed from the parent's side. */
export type Outcome =
  | { ok: true; ms: number; value: unknown }
  | { ok: false; ms: number; error: ErrorReport };

/** Writes one JSON line to stdout. */
export function emit(line: { event: string } & Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function describeError(error: unknown): ErrorReport {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & Partial<Omit<ErrorReport, 'name' | 'message'>>;
  return {
    name: error.name,
    message: error.message,
    code: fields.code,
    runnerId: fields.runnerId,
    exitCode: fields.exitCode,
    logTail: fields.logTail,
    exit: fields.exit,
  };
}

/** Waits for `promise` and reports how it settled and how long that took. */
export async function settle(promise: Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const value = await promise;
    return { ok: true, ms: ms(), value };
  } catch (error) {
    return { ok: false, ms: ms(), error: describeError(error) };
  }
}
