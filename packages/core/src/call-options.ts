import { duration, showValue } from './options';

/** Per-call options of `call`, `cast`, `placeChild` and `module`. */
export interface CallOptions {
  /**
   * Deadline of this call in ms, covering queue wait, boot and run. `Infinity` waits
   * forever. @default the pool's `timeout` (for `placeChild`: Infinity)
   */
  timeout?: number;
  /** Aborting it rejects the call with `CallAbortedError` and aborts the task's signal. */
  signal?: AbortSignal;
}

/**
 * Checks per-call options as the pool's own are checked: a misspelt key, a bad timeout or a
 * signal that is not an AbortSignal throws a TypeError or RangeError naming it, before the
 * call is queued.
 */
export function checkCallOptions(options: CallOptions): CallOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`call options must be an object, received ${showValue(options)}`);
  }
  for (const key in options) {
    if (key !== 'timeout' && key !== 'signal') {
      throw new TypeError(`options.${key} is not a call option (timeout, signal)`);
    }
  }
  if (options.timeout !== undefined) duration(options.timeout, 'timeout', true);
  const signal: unknown = options.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`options.signal must be an AbortSignal, received ${showValue(signal)}`);
  }
  return options;
}

// Duck-typed, as Node's own APIs do, so a signal from another realm or a polyfill passes.
function isAbortSignal(value: unknown): value is AbortSignal {
  const signal = value as Partial<AbortSignal> | null;
  return (
    typeof signal === 'object' &&
    signal !== null &&
    typeof signal.aborted === 'boolean' &&
    typeof signal.addEventListener === 'function' &&
    typeof signal.removeEventListener === 'function'
  );
}
