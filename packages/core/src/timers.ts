/** Longest delay setTimeout honours; anything longer fires at once in Node. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * A timer for `ms`, or none when `ms` is Infinity or too long for setTimeout (Node would
 * otherwise fire it after 1 ms).
 */
export function timerFor(ms: number, fire: () => void): NodeJS.Timeout | undefined {
  if (!Number.isFinite(ms) || ms > MAX_TIMER_DELAY) return undefined;
  return setTimeout(fire, Math.max(0, ms));
}

/** Settles when `promise` does, or after `ms`, whichever comes first; never rejects. */
export function withinMs(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    promise
      .then(
        () => resolve(),
        () => resolve(),
      )
      .finally(() => clearTimeout(timer));
  });
}
