import { afterEach, describe, expect, it } from '@jest/globals';
import { RunnerExitedError } from '@flame-node/core';
import { alive, closePools, testPool, timed, waitFor, type WhoAmI } from './support/pools';

afterEach(closePools);

describe.each([
  ['calls process.exit()', 'tasks/basic#exit', [3], /exit code 3/],
  ['kills its own process', 'tasks/basic#killSelf', [], /SIGKILL/],
])('a task that %s', (_what, task, args, reason) => {
  it('rejects every call on that runner at once with RunnerExitedError, then the pool recovers', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 10 });
    const first = await pool.call<WhoAmI>('tasks/basic#whoami');

    // Two calls in flight on the same runner when it dies.
    const bystander = timed(pool.call('tasks/basic#sleep', [10_000]));
    const killer = timed(pool.call(task, args));
    const [b, k] = await Promise.all([bystander, killer]);

    for (const outcome of [b, k]) {
      expect(outcome.error).toBeInstanceOf(RunnerExitedError);
      expect((outcome.error as Error).message).toMatch(reason);
      expect(outcome.ms).toBeLessThan(3_000);
    }
    expect(await waitFor(() => !alive(first.pid), 2_000)).toBe(true);

    const next = await Promise.all(Array.from({ length: 10 }, () => pool.call<WhoAmI>('tasks/basic#whoami')));
    expect(new Set(next.map((r) => r.pid)).size).toBe(1);
    expect(next[0]!.pid).not.toBe(first.pid);
    expect(pool.stats()).toMatchObject({ runners: 1, busy: 0, queued: 0 });
  });
});

describe('a runner killed by an uncaught exception in a task', () => {
  it('tells the calls on it why, in the RunnerExitedError message', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 2 });
    const bystander = timed(pool.call('tasks/basic#sleep', [10_000]));
    await pool.call('tasks/sabotage#crashLater');

    const { error } = await bystander;
    expect(error).toBeInstanceOf(RunnerExitedError);
    expect((error as Error).message).toMatch(
      /exit code 1, the runner said: uncaught exception in a task \(Error: boom outside any call\)/,
    );
  });
});

describe('a runner told to stop from outside (SIGTERM, as `docker stop` does)', () => {
  it('tells the calls on it why, though it exits with code 0', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 2 });
    const { pid } = await pool.call<WhoAmI>('tasks/basic#whoami');
    const running = timed(pool.call('tasks/basic#sleep', [10_000]));
    await waitFor(() => pool.stats().busy === 1, 2_000);

    process.kill(pid, 'SIGTERM');
    const { error } = await running;
    expect(error).toBeInstanceOf(RunnerExitedError);
    expect((error as Error).message).toMatch(
      /exit code 0, the runner said: runner stopping: SIGTERM received$/,
    );
  });
});
