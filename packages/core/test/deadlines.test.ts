import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CallAbortedError, CallTimeoutError } from '@flame-node/core';
import { alive, closePools, testPool, timed, waitFor, type WhoAmI } from './support/pools';

afterEach(closePools);
const scratch = mkdtempSync(path.join(tmpdir(), 'flame-deadline-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('call deadlines', () => {
  it('rejects near the deadline and aborts the task signal on the runner', async () => {
    const pool = testPool({ max: 1 });
    await pool.call('tasks/basic#echo'); // warm, so the deadline is all run time
    const marker = path.join(scratch, 'aborted-1');

    const outcome = await timed(pool.call('tasks/basic#abortToFile', [marker, 10_000], { timeout: 300 }));
    expect(outcome.error).toBeInstanceOf(CallTimeoutError);
    expect(outcome.ms).toBeGreaterThanOrEqual(290);
    expect(outcome.ms).toBeLessThan(1_000);
    expect(await waitFor(() => existsSync(marker), 2_000)).toBe(true);
    expect(readFileSync(marker, 'utf8')).toMatch(/timed out|timeout/);
  });

  it('drops a late reply and leaves other calls on the same runner untouched', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 5 });
    let settledLate = false;
    const late = pool
      .call('tasks/basic#ignoreAbort', [600], { timeout: 200 })
      .then(() => (settledLate = true), (error: unknown) => error);
    const neighbour = pool.call('tasks/basic#sleep', [800, 'neighbour']);

    expect(await late).toBeInstanceOf(CallTimeoutError);
    expect(await neighbour).toBe('neighbour');
    // The runner answered the timed-out call at 600 ms; the answer went nowhere.
    expect(settledLate).toBe(false);
    expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
  });

  it('counts queue wait: a call stuck behind a long one times out on time', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 1 });
    const blocker = pool.call('tasks/basic#sleep', [3_000]);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const waiting = await timed(pool.call('tasks/basic#echo', [], { timeout: 500 }));
    expect(waiting.error).toBeInstanceOf(CallTimeoutError);
    expect((waiting.error as Error).message).toMatch(/queue/);
    expect(waiting.ms).toBeLessThan(1_000);
    await blocker;
  });

  it('counts boot time: a call on a cold pool with a tiny deadline times out', async () => {
    const pool = testPool({ max: 1 });
    const outcome = await timed(pool.call('tasks/basic#echo', [], { timeout: 5 }));
    expect(outcome.error).toBeInstanceOf(CallTimeoutError);
    expect(outcome.ms).toBeLessThan(500);
    // The runner it started still comes up and serves the next call.
    expect(await pool.call('tasks/basic#add', [2, 3])).toBe(5);
  });

  it('aborts through the caller signal, on the runner too', async () => {
    const pool = testPool({ max: 1 });
    await pool.call('tasks/basic#echo');
    const marker = path.join(scratch, 'aborted-2');
    const controller = new AbortController();
    const call = timed(pool.call('tasks/basic#abortToFile', [marker, 10_000], { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);

    const outcome = await call;
    expect(outcome.error).toBeInstanceOf(CallAbortedError);
    expect(await waitFor(() => existsSync(marker), 2_000)).toBe(true);
  });

  it('is a timeout even when the task answers its aborted signal at the deadline', async () => {
    const pool = testPool({ max: 1 });
    await pool.call('tasks/basic#echo');
    // waitForAbort resolves as soon as its signal aborts: its answer races the deadline.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        timed(pool.call('tasks/basic#waitForAbort', [10_000], { timeout: 150 })),
      ),
    );
    for (const outcome of outcomes) expect(outcome.error).toBeInstanceOf(CallTimeoutError);
  });

  it('refuses a bad per-call timeout with a RangeError naming it', async () => {
    const pool = testPool();
    await expect(pool.call('tasks/basic#echo', [], { timeout: -1 })).rejects.toThrow(/options\.timeout/);
  });
});

describe('a cancelled task that ignores its signal', () => {
  it('has its runner replaced after cancelGrace, so a max-1 pool serves again', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 1, cancelGrace: 300 });
    const first = await pool.call<WhoAmI>('tasks/basic#whoami');

    const stuck = await timed(pool.call('tasks/basic#ignoreAbort', [60_000], { timeout: 200 }));
    expect(stuck.error).toBeInstanceOf(CallTimeoutError);
    // Without the replacement this call would wait behind the 60 s task and time out.
    const next = await pool.call<WhoAmI>('tasks/basic#whoami', [], { timeout: 10_000 });
    expect(next.runnerId).not.toBe(first.runnerId);
    expect(await waitFor(() => !alive(first.pid), 3_000)).toBe(true);
  });

  it('lets the other calls on that runner finish before it goes', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 2, cancelGrace: 200 });
    const stuck = timed(pool.call('tasks/basic#ignoreAbort', [60_000], { timeout: 100 }));
    const neighbour = pool.call('tasks/basic#sleep', [1_000, 'neighbour']);

    expect((await stuck).error).toBeInstanceOf(CallTimeoutError);
    expect(await neighbour).toBe('neighbour');
    expect(await pool.call('tasks/basic#add', [1, 2], { timeout: 10_000 })).toBe(3);
  });

  it('keeps its place until it ends when cancelGrace is Infinity', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 1, cancelGrace: Infinity });
    const first = await pool.call<WhoAmI>('tasks/basic#whoami');
    await timed(pool.call('tasks/basic#ignoreAbort', [1_500], { timeout: 100 }));

    const next = await timed(pool.call<WhoAmI>('tasks/basic#whoami', [], { timeout: 10_000 }));
    // It waited for the ignored task to end (about 1.4 s more), on the same runner.
    expect(next.ms).toBeGreaterThan(1_000);
    expect(next.value?.runnerId).toBe(first.runnerId);
  });
});
