import type { Logger } from 'pino';
import { checkCallOptions, type CallOptions } from './call-options';
import { PoolClosedError } from './errors';
import { resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './options';
import { PoolEngine, type PoolStats } from './pool-engine';
import type { RemoteModule } from './typed-module';

export type { CallOptions } from './call-options';

const NOT_EXPORTS = new Set([
  'then',
  'toJSON',
  'constructor',
  'inspect',
  'valueOf',
  'toString',
  'asymmetricMatch',
  '$$typeof',
]);

/** A long-running function placed on a runner by `pool.placeChild()`. */
export interface ChildHandle<T = unknown> {
  /** Settles with the function's result or error once it ends. */
  readonly done: Promise<T>;
  /**
   * Aborts the function's signal on the runner and resolves once it has ended; `done`
   * then settles with what the function returned or threw. A function that ignores its
   * signal is ended with its runner after the pool's `cancelGrace` (`done` rejects with
   * `RunnerExitedError`).
   */
  stop(): Promise<void>;
}

/**
 * A pool of runners that run exported functions of the app's own modules.
 *
 * @example
 * const pool = new Pool({ name: 'thumbs', max: 4 });
 * const png = await pool.call('tasks/thumbs#render', ['/data/cat.jpg']);
 * await pool.close();
 */
export class Pool {
  readonly #engine: PoolEngine;

  constructor(options: PoolOptions) {
    this.#engine = new PoolEngine(resolvePoolOptions(options));
  }

  /** The pool's name. */
  get name(): string {
    return this.#engine.options.name;
  }

  /** The options in force, defaults filled in. */
  get options(): Readonly<ResolvedPoolOptions> {
    return this.#engine.options;
  }

  /** The pool's logger (a child bound to the pool's name). */
  get logger(): Logger {
    return this.#engine.logger;
  }

  /**
   * Runs `task` (`"path/to/module#export"`, relative to the task root; `#export` defaults to
   * `default`) on a runner with `args`, and resolves to what the function returns (awaited).
   *
   * Rejects with `RemoteError` if the task throws, `CallTimeoutError` past the deadline,
   * `RunnerExitedError` if its runner dies, `BootError` if no runner could start,
   * `TaskNotFoundError`, `SerializationError`, `PoolClosedError` or `CallAbortedError`.
   */
  call<T = unknown>(task: string, args: unknown[] = [], options: CallOptions = {}): Promise<T> {
    try {
      checkCallOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call<T>(task, args, options);
  }

  // A call with options already checked. The engine's promise itself, not one more async
  // wrapper around it; bad input still rejects (never throws), as from an async function.
  #call<T>(task: string, args: unknown[], options: CallOptions): Promise<T> {
    try {
      return this.#engine.submit(task, args, 'call', options) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Starts `task` and returns at once. The work holds a runner slot until it ends; a
   * failure, a closed pool included, is logged (never an unhandled rejection). Bad input
   * (task name, arguments) still throws here, synchronously.
   */
  cast(task: string, args: unknown[] = [], options: CallOptions = {}): void {
    checkCallOptions(options);
    const failed = (error: unknown) =>
      this.#engine.logger.warn({ task, err: error }, 'cast failed');
    // A closed pool is a failure of the work, not bad input: logged like any other.
    if (this.#engine.closed) {
      failed(new PoolClosedError(this.name));
      return;
    }
    this.#engine.submit(task, args, 'cast', options).catch(failed);
  }

  /**
   * Starts a long-running function on a runner and resolves once it has started. The
   * runner stays up while the function runs. With no `timeout`, it may run forever.
   */
  async placeChild<T = unknown>(
    task: string,
    args: unknown[] = [],
    options: CallOptions = {},
  ): Promise<ChildHandle<T>> {
    checkCallOptions(options);
    const stopper = new AbortController();
    let onStarted!: () => void;
    const started = new Promise<void>((resolve) => (onStarted = resolve));
    const done = this.#engine.submit(
      task,
      args,
      'child',
      { timeout: options.timeout, signal: options.signal, stopSignal: stopper.signal },
      onStarted,
    ) as Promise<T>;
    await Promise.race([started, done]);

    return {
      done,
      stop: async () => {
        stopper.abort();
        await done.catch(() => undefined);
      },
    };
  }

  /**
   * A typed view of one task module: each exported function becomes a method that calls it
   * on a runner, with the same parameter types and a promised result.
   *
   * @example
   * const thumbs = pool.module<typeof import('./tasks/thumbs')>('tasks/thumbs');
   * const png = await thumbs.render('/data/cat.jpg'); // checked by the compiler
   */
  module<M>(modulePath: string, options: CallOptions = {}): RemoteModule<M> {
    checkCallOptions(options);
    return new Proxy({} as RemoteModule<M>, {
      get: (_target, property) => {
        // Not exports: what promise, JSON and inspection machinery probe an object for.
        if (typeof property !== 'string' || NOT_EXPORTS.has(property)) return undefined;
        // Its options were checked once, above.
        return (...args: unknown[]) => this.#call(`${modulePath}#${property}`, args, options);
      },
    });
  }

  /** Runners, boots, calls running and calls waiting, right now. */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Resolves once no call is running or waiting (at once if none is). */
  onIdle(): Promise<void> {
    return this.#engine.onIdle();
  }

  /**
   * Refuses new work, rejects queued calls with `PoolClosedError`, lets calls in flight
   * finish within `shutdownTimeout` (then aborts them, rejecting with `PoolClosedError`),
   * and stops every runner. Safe to call more than once: every call gets the same promise.
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Like `close()`, but aborts calls in flight at once. */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }
}
