import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { PoolClosedError, RunnerExitedError, type PoolEvent } from '@flame-node/core';
import { alive, closePools, testPool, timed, waitFor, type WhoAmI } from './support/pools';

afterEach(closePools);

describe('idle shutdown', () => {
  it('stops runners above min after idleShutdownAfter and keeps min', async () => {
    const shrinks: PoolEvent[] = [];
    const pool = testPool({
      min: 1,
      max: 3,
      maxConcurrency: 1,
      idleShutdownAfter: 300,
      onShrink: (event) => shrinks.push(event),
    });
    const results = await Promise.all(
      Array.from({ length: 3 }, () => pool.call<WhoAmI>('tasks/basic#sleep', [150])),
    );
    expect(results).toHaveLength(3);
    expect(pool.stats().runners).toBe(3);

    expect(await waitFor(() => shrinks.length === 2, 3_000)).toBe(true);
    expect(shrinks.map((event) => event.runnerCount)).toEqual([2, 1]);
    expect(pool.stats().runners).toBe(1);
    // The min runner stays well past the idle time.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(pool.stats().runners).toBe(1);
  });

  it('boots min runners when the pool is made', async () => {
    const pool = testPool({ min: 2, max: 2 });
    expect(await waitFor(() => pool.stats().runners === 2, 5_000)).toBe(true);
  });

  it('a runner that went idle is stopped for good (its process ends)', async () => {
    const pool = testPool({ max: 1, idleShutdownAfter: 200 });
    const { pid } = await pool.call<WhoAmI>('tasks/basic#whoami');
    expect(await waitFor(() => !alive(pid), 3_000)).toBe(true);
    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
    // And the next call starts a fresh one.
    expect((await pool.call<WhoAmI>('tasks/basic#whoami')).pid).not.toBe(pid);
  });
});

describe('singleUse', () => {
  it('runs each call on its own runner, which then exits', async () => {
    const pool = testPool({ max: 2, singleUse: true });
    const a = await pool.call<WhoAmI>('tasks/basic#whoami');
    const b = await pool.call<WhoAmI>('tasks/basic#whoami');
    expect(a.pid).not.toBe(b.pid);
    expect(await waitFor(() => !alive(a.pid) && !alive(b.pid), 3_000)).toBe(true);
  });
});

describe('a runner never outlives its parent', () => {
  it('stops when the parent process is killed', async () => {
    const parent = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'orphan-parent.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        parent.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
        parent.once('exit', () => reject(new Error('parent exited early')));
      });
      const runner = JSON.parse(line) as WhoAmI;
      expect(alive(runner.pid)).toBe(true);

      parent.kill('SIGKILL');
      expect(await waitFor(() => !alive(runner.pid), 5_000)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('cast', () => {
  it('returns at once, holds a slot while it works, and logs failures instead of rejecting', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 1 });
    expect(pool.cast('tasks/basic#sleep', [300])).toBeUndefined();
    await waitFor(() => pool.stats().busy === 1, 3_000);
    // The slot is taken: a call with a short deadline waits in the queue and times out.
    const blocked = await timed(pool.call('tasks/basic#echo', [], { timeout: 100 }));
    expect(blocked.error).toBeDefined();
    await pool.onIdle();

    pool.cast('tasks/basic#fail', ['cast failure']);
    await pool.onIdle();
    expect(await pool.call('tasks/basic#add', [1, 1])).toBe(2);
  });

  it('throws at once for a task name that can never work', () => {
    const pool = testPool();
    expect(() => pool.cast('../escape#x')).toThrow(/escapes the task root/);
  });
});

describe('placeChild', () => {
  it('resolves once started, keeps the runner while it lives, and stops on request', async () => {
    const pool = testPool({ max: 1, idleShutdownAfter: 200 });
    const child = await pool.placeChild<number>('tasks/basic#ticker', [20]);
    // Well past the idle time, the runner is still there because the child runs on it.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(pool.stats()).toMatchObject({ runners: 1, busy: 1 });

    await child.stop();
    expect(await child.done).toBeGreaterThan(5);
    expect(await waitFor(() => pool.stats().runners === 0, 3_000)).toBe(true);
  });

  it('ends a child that ignores stop() with its runner after cancelGrace', async () => {
    const pool = testPool({ max: 1, cancelGrace: 300 });
    const child = await pool.placeChild('tasks/basic#ignoreAbort', [60_000]);
    const outcome = timed(child.done);

    await child.stop();
    const { error } = await outcome;
    expect(error).toBeInstanceOf(RunnerExitedError);
    expect((error as Error).message).toContain('outlived cancelGrace');
    expect(await pool.call('tasks/basic#add', [2, 2], { timeout: 10_000 })).toBe(4);
  });
});

describe('close', () => {
  it('rejects queued calls with PoolClosedError, lets the running one finish, and is idempotent', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 1, shutdownTimeout: 5_000 });
    const running = pool.call('tasks/basic#sleep', [500, 'finished']);
    await waitFor(() => pool.stats().busy === 1, 5_000);
    const queued = Array.from({ length: 50 }, () => timed(pool.call('tasks/basic#echo')));

    const first = pool.close();
    const second = pool.close();
    expect(second).toBe(first);

    const outcomes = await Promise.all(queued);
    for (const outcome of outcomes) {
      expect(outcome.error).toBeInstanceOf(PoolClosedError);
      expect(outcome.ms).toBeLessThan(1_000);
    }
    expect(await running).toBe('finished');
    await first;
    await expect(pool.call('tasks/basic#echo')).rejects.toBeInstanceOf(PoolClosedError);
    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
  });

  it('stops placed children at once, so it does not wait for shutdownTimeout', async () => {
    const pool = testPool({ max: 1, shutdownTimeout: 20_000 });
    const child = await pool.placeChild<number>('tasks/basic#ticker', [20]);

    const closing = await timed(pool.close());
    expect(closing.ms).toBeLessThan(3_000);
    // The child saw its signal abort and returned its count, as with stop().
    expect(await child.done).toBeGreaterThan(0);
  });

  it('aborts calls still running at shutdownTimeout', async () => {
    const pool = testPool({ max: 1, shutdownTimeout: 300 });
    const running = timed(pool.call('tasks/basic#sleep', [10_000]));
    await waitFor(() => pool.stats().busy === 1, 5_000);
    await pool.close();
    const outcome = await running;
    expect(outcome.error).toBeInstanceOf(PoolClosedError);
    expect(outcome.ms).toBeLessThan(2_000);
  });
});

describe('hooks', () => {
  it('reports growth and shrinking with the pool name and runner count', async () => {
    const events: string[] = [];
    const pool = testPool({
      name: 'hooked',
      max: 1,
      idleShutdownAfter: 100,
      onGrowStart: (e) => events.push(`grow-start ${e.pool} ${e.runnerCount}`),
      onGrowEnd: (e) => events.push(`grow-end ${e.pool} ${e.runnerCount} ${e.error ? 'failed' : 'ok'}`),
      onShrink: (e) => events.push(`shrink ${e.pool} ${e.runnerCount}`),
    });
    await pool.call('tasks/basic#echo');
    await waitFor(() => events.length === 3, 3_000);
    expect(events).toEqual(['grow-start hooked 1', 'grow-end hooked 1 ok', 'shrink hooked 0']);
  });
});
