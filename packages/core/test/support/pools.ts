import path from 'node:path';
import { Pool, type PoolOptions } from '@flame-node/core';

/** The task root of the core tests: task names like `tasks/basic#echo` resolve here. */
export const TASK_ROOT = path.join(__dirname, '..', 'fixtures');

const open = new Set<Pool>();

/** A pool over the fixtures, silent, closed by `closePools()`. */
export function testPool(options: Partial<PoolOptions> = {}): Pool {
  const pool = new Pool({ name: 'test', logger: false, taskRoot: TASK_ROOT, ...options });
  open.add(pool);
  return pool;
}

/** Terminates every pool made by `testPool` (use in afterEach). */
export async function closePools(): Promise<void> {
  const pools = [...open];
  open.clear();
  await Promise.all(pools.map((pool) => pool.terminate()));
}

/** Whether a process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the final answer. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Milliseconds `promise` took to settle, and how it settled. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const started = Date.now();
  try {
    const value = await promise;
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

export interface WhoAmI {
  pid: number;
  host: string;
  runnerId: string;
}
