import type { Pool, PoolStats } from '@flame-node/core';
import type { Roll } from './tasks/work';

/** The task every helper runs: sleep about a second, return a random number. */
export const ROLL = 'tasks/work#roll';

/** What a burst of calls did. */
export interface BurstReport {
  calls: number;
  ms: number;
  /** Distinct runner hostnames that served the calls. */
  runners: string[];
  /** Most runners alive (booting ones included) at any sample during the burst. */
  peakRunners: number;
  /** A few of the results. */
  sample: Roll[];
}

/** One call: a random number and the runner's hostname. */
export function one(pool: Pool, ms = 1_000): Promise<Roll> {
  return pool.call<Roll>(ROLL, [ms]);
}

/**
 * `count` calls at once. They wait for as long as it takes (no deadline), since a burst
 * of thousands queues far longer than the default 30 s call timeout.
 */
export async function burst(pool: Pool, count: number, ms = 1_000): Promise<BurstReport> {
  const started = Date.now();
  let peakRunners = 0;
  const sample = (): void => {
    const { runners, booting } = pool.stats();
    peakRunners = Math.max(peakRunners, runners + booting);
  };
  const sampler = setInterval(sample, 20);

  try {
    const calls = Array.from({ length: count }, () => {
      const call = pool.call<Roll>(ROLL, [ms], { timeout: Infinity });
      sample();
      return call;
    });
    const results = await Promise.all(calls);
    return {
      calls: results.length,
      ms: Date.now() - started,
      runners: [...new Set(results.map((result) => result.hostname))].sort(),
      peakRunners,
      sample: results.slice(0, 3),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Ten calls at once. */
export function ten(pool: Pool): Promise<BurstReport> {
  return burst(pool, 10);
}

/** Ten thousand calls at once: still only `max` runner containers ever appear. */
export function tenThousand(pool: Pool): Promise<BurstReport> {
  return burst(pool, 10_000);
}

/** Runners, boots, calls running and calls waiting. */
export function stats(pool: Pool): PoolStats {
  return pool.stats();
}
