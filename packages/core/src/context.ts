import { AsyncLocalStorage } from 'node:async_hooks';

/** What a task can learn about the call it is serving. */
export interface CallContext {
  /** Aborts when the caller gives up: its deadline passed, it aborted, or the pool closed. */
  readonly signal: AbortSignal;
  /** The task name, as called. */
  readonly task: string;
  /** The runner serving the call. */
  readonly runnerId: string;
  /** The pool the call came from. */
  readonly pool: string;
  /** Milliseconds since the epoch at which the caller stops waiting. */
  readonly deadline: number;
}

const storage = new AsyncLocalStorage<CallContext>();

/**
 * The context of the flame call being served, for code running inside a task on a runner.
 * Throws when called outside of one (in the parent, or outside any task).
 *
 * @example
 * export async function render(path: string) {
 *   const { signal } = context();
 *   return await sharp(path).resize(200).toBuffer({ signal });
 * }
 */
export function context(): CallContext {
  const current = storage.getStore();
  if (current === undefined) {
    throw new Error('context() is only available inside a task running on a flame runner');
  }
  return current;
}

/** Runs `fn` with `ctx` as the current call context. Internal to the runner agent. */
export function runWithContext<T>(ctx: CallContext, fn: () => T): T {
  return storage.run(ctx, fn);
}
