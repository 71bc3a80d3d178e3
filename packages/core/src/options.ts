import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Backend } from './backend';
import { MAX_TIMER_DELAY } from './timers';
import { ABSOLUTE_MAX_FRAME, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_FRAME } from './wire/protocol';

/** What a lifecycle hook is told. */
export interface PoolEvent {
  /** The pool's name. */
  pool: string;
  /** Runners alive after the change (booting ones included). */
  runnerCount: number;
  /** The runner that started, booted or went away. */
  runnerId: string;
  /** For `onGrowEnd` after a failed boot: why. */
  error?: Error;
}

export type PoolHook = (event: PoolEvent) => void;

/** Options of `new Pool(options)`. Only `name` is required. */
export interface PoolOptions {
  /** Names the pool in logs, hooks and runner labels. */
  name: string;
  /**
   * Starts runners. @default the backend set with `setDefaultBackend()`, else a `LocalBackend`
   * (child processes on this machine).
   */
  backend?: Backend;
  /** Runners kept running even when idle. Started when the pool is made. @default 0 */
  min?: number;
  /** Most runners at once, booting ones included. @default os.availableParallelism() */
  max?: number;
  /** Most calls in flight on one runner. @default 100 */
  maxConcurrency?: number;
  /** A runner above `min` with no call for this long stops (ms). @default 30000 */
  idleShutdownAfter?: number;
  /** Longest a runner may take from start to an authenticated connection (ms). @default 30000 */
  bootTimeout?: number;
  /**
   * Default deadline of a call (ms), covering queue wait, boot and run. `Infinity` waits
   * forever. @default 30000
   */
  timeout?: number;
  /** How long `close()` lets calls in flight finish before aborting them (ms). @default 30000 */
  shutdownTimeout?: number;
  /**
   * How long a task may run on after its caller gave up on it (deadline passed or signal
   * aborted) and its `context().signal` aborted (ms). Past that its runner is replaced: it
   * takes no new calls, finishes the others it runs, then stops, ending the task with it.
   * `Infinity` lets such a task keep its place until it ends. @default 5000
   */
  cancelGrace?: number;
  /** Each runner serves exactly one call and then exits. @default false */
  singleUse?: boolean;
  /** Directory task names resolve in, on the runners. @default process.cwd() */
  taskRoot?: string;
  /** A pino logger, or `false` for none. @default pino at `FLAME_LOG_LEVEL`, else `warn` */
  logger?: Logger | false;
  /** Largest encoded arguments or result of one call (bytes). @default 134217728 (128 MiB) */
  maxFrameSize?: number;
  /** Time a connecting runner gets to pass the cookie check (ms). @default 5000 */
  handshakeTimeout?: number;
  /** Called when a runner starts booting. */
  onGrowStart?: PoolHook;
  /** Called when a boot ends, with `error` set if it failed. */
  onGrowEnd?: PoolHook;
  /** Called when a runner has gone away. */
  onShrink?: PoolHook;
}

/** The defaults of every optional number and flag. */
export const POOL_DEFAULTS = Object.freeze({
  min: 0,
  maxConcurrency: 100,
  idleShutdownAfter: 30_000,
  bootTimeout: 30_000,
  timeout: 30_000,
  shutdownTimeout: 30_000,
  cancelGrace: 5_000,
  singleUse: false,
  maxFrameSize: DEFAULT_MAX_FRAME,
  handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT,
});

/** Options with every field present, as the pool uses them. */
export interface ResolvedPoolOptions {
  name: string;
  backend: Backend | undefined;
  min: number;
  max: number;
  maxConcurrency: number;
  idleShutdownAfter: number;
  bootTimeout: number;
  timeout: number;
  shutdownTimeout: number;
  cancelGrace: number;
  singleUse: boolean;
  taskRoot: string;
  logger: Logger | false | undefined;
  maxFrameSize: number;
  handshakeTimeout: number;
  onGrowStart: PoolHook | undefined;
  onGrowEnd: PoolHook | undefined;
  onShrink: PoolHook | undefined;
}

const KNOWN = new Set<string>([
  'name',
  'backend',
  'min',
  'max',
  'maxConcurrency',
  'idleShutdownAfter',
  'bootTimeout',
  'timeout',
  'shutdownTimeout',
  'cancelGrace',
  'singleUse',
  'taskRoot',
  'logger',
  'maxFrameSize',
  'handshakeTimeout',
  'onGrowStart',
  'onGrowEnd',
  'onShrink',
]);

/** A value as an error message shows it: strings quoted, other values with their type. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint')
    return `${String(value)} (${typeof value})`;
  if (typeof value === 'function') return 'a function';
  try {
    return `${JSON.stringify(value) ?? String(value)} (${typeof value})`;
  } catch {
    return String(value);
  }
}

/** The option as given, or its default when left out (`null` is not left out). */
function given(options: PoolOptions, key: keyof typeof POOL_DEFAULTS): unknown {
  return options[key] === undefined ? POOL_DEFAULTS[key] : options[key];
}

function integer(
  options: PoolOptions,
  key: keyof PoolOptions,
  min: number,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
) {
  const value = options[key] === undefined ? fallback : options[key];
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`options.${key} must be a number, received ${showValue(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    const bounds = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new RangeError(
      `options.${key} must be an integer ${bounds}, received ${showValue(value)}`,
    );
  }
  return value;
}

/**
 * A duration in ms: a positive integer no longer than Node's longest timer (a longer one
 * would fire at once), or, where `infinite` allows it, Infinity; there a longer one means
 * Infinity too.
 */
export function duration(value: unknown, key: string, infinite = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(
      `options.${key} must be a number of milliseconds, received ${showValue(value)}`,
    );
  }
  if (infinite && value > MAX_TIMER_DELAY) return Infinity;
  if (!Number.isInteger(value) || value <= 0 || value > MAX_TIMER_DELAY) {
    const rule = infinite
      ? 'a positive integer or Infinity'
      : `a positive integer up to ${MAX_TIMER_DELAY} (the longest timer Node keeps)`;
    throw new RangeError(`options.${key} must be ${rule}, received ${showValue(value)}`);
  }
  return value;
}

function hook(options: PoolOptions, key: 'onGrowStart' | 'onGrowEnd' | 'onShrink') {
  const value = options[key];
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`options.${key} must be a function, received ${showValue(value)}`);
  }
  return value;
}

/** Checks every option and fills in the defaults. Throws TypeError or RangeError. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`options must be an object, received ${showValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not a pool option`);
  }
  if (typeof options.name !== 'string' || options.name.trim() === '') {
    throw new TypeError(
      `options.name must be a non-empty string, received ${showValue(options.name)}`,
    );
  }
  if (!/^[\w.-]{1,64}$/.test(options.name)) {
    throw new RangeError(
      `options.name may hold letters, digits, "_", "." and "-" (at most 64), received ${showValue(options.name)}`,
    );
  }

  const min = integer(options, 'min', 0, POOL_DEFAULTS.min);
  const max = integer(options, 'max', 1, Math.max(availableParallelism(), min, 1));
  if (min > max) throw new RangeError(`options.min (${min}) must not exceed options.max (${max})`);

  const backend = options.backend;
  if (
    backend !== undefined &&
    (typeof backend !== 'object' || typeof backend?.start !== 'function')
  ) {
    throw new TypeError(
      `options.backend must be a Backend (an object with start()), received ${showValue(backend)}`,
    );
  }
  const logger = options.logger;
  if (logger !== undefined && logger !== false && typeof logger?.child !== 'function') {
    throw new TypeError(
      `options.logger must be a pino logger or false, received ${showValue(logger)}`,
    );
  }
  const singleUse = given(options, 'singleUse');
  if (typeof singleUse !== 'boolean') {
    throw new TypeError(`options.singleUse must be a boolean, received ${showValue(singleUse)}`);
  }
  const taskRoot = options.taskRoot ?? process.cwd();
  if (typeof taskRoot !== 'string' || taskRoot === '') {
    throw new TypeError(
      `options.taskRoot must be a directory path, received ${showValue(taskRoot)}`,
    );
  }

  return {
    name: options.name,
    backend,
    min,
    max,
    maxConcurrency: integer(options, 'maxConcurrency', 1, POOL_DEFAULTS.maxConcurrency),
    idleShutdownAfter: duration(given(options, 'idleShutdownAfter'), 'idleShutdownAfter', true),
    bootTimeout: duration(given(options, 'bootTimeout'), 'bootTimeout'),
    timeout: duration(given(options, 'timeout'), 'timeout', true),
    shutdownTimeout: duration(given(options, 'shutdownTimeout'), 'shutdownTimeout'),
    cancelGrace: duration(given(options, 'cancelGrace'), 'cancelGrace', true),
    singleUse,
    taskRoot,
    logger,
    maxFrameSize: integer(
      options,
      'maxFrameSize',
      1024,
      POOL_DEFAULTS.maxFrameSize,
      ABSOLUTE_MAX_FRAME,
    ),
    handshakeTimeout: duration(given(options, 'handshakeTimeout'), 'handshakeTimeout'),
    onGrowStart: hook(options, 'onGrowStart'),
    onGrowEnd: hook(options, 'onGrowEnd'),
    onShrink: hook(options, 'onShrink'),
  };
}
