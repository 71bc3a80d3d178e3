import { context } from '@flame-node/core';

/**
 * Returns at once, then throws from a timer `ms` later, outside any call: an uncaught
 * exception, which is fatal to the runner (the fault tests use this). Says which runner.
 */
export function crashSoon(ms = 50): { runnerId: string; crashingIn: number } {
  setTimeout(() => {
    throw new Error('minimal: a task crashed its runner on purpose');
  }, ms);
  return { runnerId: context().runnerId, crashingIn: ms };
}
