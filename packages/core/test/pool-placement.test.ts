import { afterEach, describe, expect, it } from '@jest/globals';
import { closePools, testPool, type WhoAmI } from './support/pools';

afterEach(closePools);

describe('runner placement', () => {
  it('never starts more than max runners for 20 simultaneous calls on a cold pool', async () => {
    const runnerCounts: number[] = [];
    const pool = testPool({
      max: 2,
      maxConcurrency: 1,
      onGrowStart: ({ runnerCount }) => runnerCounts.push(runnerCount),
    });
    let peak = 0;
    const sampler = setInterval(() => {
      const { runners, booting } = pool.stats();
      peak = Math.max(peak, runners + booting);
    }, 5);

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.call<number>('tasks/basic#sleep', [20, i])),
    );
    clearInterval(sampler);

    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(Math.max(...runnerCounts)).toBeLessThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(2);
    expect(pool.stats()).toMatchObject({ busy: 0, queued: 0, booting: 0 });
  });

  it('reuses one warm runner for sequential calls', async () => {
    const pool = testPool({ max: 4 });
    const pids = new Set<number>();
    for (let i = 0; i < 10; i++) {
      pids.add((await pool.call<WhoAmI>('tasks/basic#whoami')).pid);
    }
    expect(pids.size).toBe(1);
    expect(pids.has(process.pid)).toBe(false);
    expect(pool.stats()).toEqual({ runners: 1, booting: 0, busy: 0, queued: 0 });
  });

  it('multiplexes concurrent calls on one runner up to maxConcurrency', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 50 });
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => pool.call<WhoAmI>('tasks/basic#sleep', [200])),
    );
    // Fifty 200 ms calls at once on one runner take about 200 ms, not 10 s.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(results).toHaveLength(50);
  });

  it('keeps module state per runner between calls', async () => {
    const pool = testPool({ max: 1 });
    expect(await pool.call('tasks/basic#count')).toBe(1);
    expect(await pool.call('tasks/basic#count')).toBe(2);
  });
});
