/**
 * Throws outside any call, from a timer, after the call has returned: the runner process
 * has an uncaught exception, which is fatal to it (the fault tests use this).
 */
export function crashSoon(ms = 50): { crashingIn: number } {
  setTimeout(() => {
    throw new Error('minimal: a task crashed its runner on purpose');
  }, ms);
  return { crashingIn: ms };
}
