import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { context } from '@flame-node/core';

/** What a runner says about itself. */
export interface RunnerReport {
  /** The runner container's hostname (its runner id under the Docker backend). */
  hostname: string;
  runnerId: string;
  pid: number;
}

/** A roll of the dice on a runner. */
export interface Roll extends RunnerReport {
  value: number;
}

function report(): RunnerReport {
  return { hostname: hostname(), runnerId: context().runnerId, pid: process.pid };
}

/**
 * Sleeps `ms` (about a second by default), then returns a random number with the runner's
 * hostname. The sleep ends early, with an error, when the caller gives up.
 */
export async function roll(ms = 1_000): Promise<Roll> {
  await sleep(ms, undefined, { signal: context().signal });
  return { value: Math.random(), ...report() };
}

/** Returns at once: a warm call's round trip is mostly this. */
export function ping(): RunnerReport {
  return report();
}

/**
 * Runs until the caller gives up or the pool stops it (for `placeChild`), so its runner
 * stays up meanwhile.
 */
export async function wait(): Promise<RunnerReport> {
  const { signal } = context();
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  return report();
}
