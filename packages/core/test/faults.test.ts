import { spawn } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import {
  CallTimeoutError,
  FrameTooLargeError,
  PoolClosedError,
  RunnerExitedError,
  type PoolEvent,
} from '@flame-node/core';
import { alive, closePools, testPool, timed, waitFor, type WhoAmI } from './support/pools';

afterEach(closePools);

/** A pino logger whose lines are kept as parsed objects. */
function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('closing with work queued', () => {
  it('rejects the 50 queued at once, lets the running call finish, and the process exits by itself', async () => {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'close-then-exit.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    const exited = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 10_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });

    // null would mean something kept the process alive after close().
    expect(exited).toBe(0);
    const report = JSON.parse(output) as {
      running: { value?: string; ms: number };
      queued: Array<{ error?: string; ms: number }>;
    };
    expect(report.running.value).toBe('finished');
    expect(report.queued).toHaveLength(50);
    for (const outcome of report.queued) {
      expect(outcome.error).toBe('PoolClosedError');
      expect(outcome.ms).toBeLessThan(1_000);
    }
  });
});

describe('a short deadline queued behind a long call', () => {
  it('max 1, maxConcurrency 1: B (2 s timeout) behind A (10 s) rejects at about 2 s, not 12 s', async () => {
    const pool = testPool({ max: 1, maxConcurrency: 1 });
    const a = timed(pool.call('tasks/basic#sleep', [10_000]));
    await waitFor(() => pool.stats().busy === 1, 5_000);

    const b = await timed(pool.call('tasks/basic#echo', [], { timeout: 2_000 }));
    expect(b.error).toBeInstanceOf(CallTimeoutError);
    expect(b.ms).toBeGreaterThanOrEqual(1_950);
    expect(b.ms).toBeLessThan(2_600);
    await pool.terminate();
    expect((await a).error).toBeInstanceOf(PoolClosedError);
  });
});

describe('a result larger than the frame limit', () => {
  it('fails that call with a clear error; the runner survives and serves the next call', async () => {
    const pool = testPool({ max: 1, maxFrameSize: 1024 * 1024 });
    const before = await pool.call<WhoAmI>('tasks/basic#whoami');
    const error = await pool.call('tasks/basic#bigResult', [2 * 1024 * 1024]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect((error as Error).message).toMatch(/result of tasks\/basic#bigResult.*over the frame limit/);
    const after = await pool.call<WhoAmI>('tasks/basic#whoami');
    expect(after.pid).toBe(before.pid);
  });

  it('refuses arguments over the limit before sending them', async () => {
    const pool = testPool({ max: 1, maxFrameSize: 1024 * 1024 });
    const error = await pool.call('tasks/basic#echo', [Buffer.alloc(2 * 1024 * 1024)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
  });
});

describe('a runner that resets its connection', () => {
  it('while the parent writes a 5 MiB argument: the call rejects with RunnerExitedError, other pools carry on', async () => {
    const victim = testPool({ name: 'victim', max: 1 });
    const bystander = testPool({ name: 'bystander', max: 1 });
    await bystander.call('tasks/basic#echo');

    expect(await victim.call('tasks/sabotage#resetOnNextData')).toBe('armed');
    const outcome = await timed(victim.call('tasks/basic#echo', [Buffer.alloc(5 * 1024 * 1024, 7)]));
    expect(outcome.error).toBeInstanceOf(RunnerExitedError);
    expect(outcome.ms).toBeLessThan(3_000);

    expect(await bystander.call('tasks/basic#add', [1, 2])).toBe(3);
    expect(await victim.call('tasks/basic#add', [2, 2])).toBe(4);
  });

  it('while the parent waits for a reply: the call rejects with RunnerExitedError', async () => {
    const pool = testPool({ max: 1 });
    const outcome = await timed(pool.call('tasks/sabotage#resetNow'));
    expect(outcome.error).toBeInstanceOf(RunnerExitedError);
    expect(outcome.ms).toBeLessThan(3_000);
    expect(await pool.call('tasks/basic#add', [2, 3])).toBe(5);
  });
});

describe("a runner's last words", () => {
  it.each([
    ['idle', { idleShutdownAfter: 100 }, async () => undefined, /idle/],
    ['told to stop', {}, async (pool: ReturnType<typeof testPool>) => pool.close(), /pool closed/],
    [
      'fatal error',
      {},
      async (pool: ReturnType<typeof testPool>) => pool.call('tasks/sabotage#crashLater'),
      /uncaught exception/,
    ],
  ])('reach the parent log with the runner id when it ends: %s', async (_why, options, act, reason) => {
    const { logger, lines } = memoryLogger();
    const pool = testPool({ max: 1, logger, ...options });
    const { runnerId, pid } = await pool.call<WhoAmI>('tasks/basic#whoami');
    await act(pool);

    expect(await waitFor(() => !alive(pid), 5_000)).toBe(true);
    const fromRunner = () => lines.filter((line) => line.runnerId === runnerId && line.runnerPid === pid);
    expect(await waitFor(() => fromRunner().some((line) => reason.test(JSON.stringify(line))), 3_000)).toBe(true);
  });
});

describe('idle reaping, repeated', () => {
  it('ends every reap 200 times: no process, no pending call, counts back to zero', async () => {
    const shrinks: PoolEvent[] = [];
    const pool = testPool({ max: 4, maxConcurrency: 1, idleShutdownAfter: 10, onShrink: (e) => shrinks.push(e) });
    const pids: number[] = [];

    for (let round = 0; round < 50; round++) {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => pool.call<WhoAmI>('tasks/basic#sleep', [5]).then(() => pool.stats())),
      );
      expect(results).toHaveLength(4);
      const who = await pool.call<WhoAmI>('tasks/basic#whoami');
      pids.push(who.pid);
      expect(await waitFor(() => pool.stats().runners + pool.stats().booting === 0, 5_000)).toBe(true);
    }

    expect(pool.stats()).toEqual({ runners: 0, booting: 0, busy: 0, queued: 0 });
    expect(shrinks.length).toBeGreaterThanOrEqual(50);
    expect(await waitFor(() => pids.every((pid) => !alive(pid)), 5_000)).toBe(true);
  }, 60_000);
});
