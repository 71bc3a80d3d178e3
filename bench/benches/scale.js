'use strict';
// 5. Scale: 10 000 calls of a 1 ms task submitted at once to a cold pool with max 4 and
// maxConcurrency 100. Every call must succeed with its own result, the pool must never hold
// more than 4 runners (booting ones included: the onGrowStart hook's runnerCount, and
// pool.stats() sampled every few ms), and the parent's memory must stay flat.
// Memory growth is the peak during the round over a baseline taken after a GC just before
// it (rss and heapUsed, sampled with the stats and right after submitting). Every round is
// measured, the first one in a fresh process included, and the target holds for the worst.
const { performance } = require('node:perf_hooks');
const { core } = require('../lib/paths');
const { poolOptions } = require('../lib/backend');
const { summarize } = require('../lib/stats');
const { row } = require('../lib/report');
const config = require('../lib/config');

const MAX = 4;
const BENCH = '5 scale';
const MB = 1e6;

function collect() {
  // Run with --expose-gc (bench/run.js does) so baselines are taken on a collected heap.
  if (typeof global.gc === 'function') global.gc();
}

async function oneRound(calls) {
  collect();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heapUsed: before.heapUsed, runners: 0 };
  const grown = new Set();
  let hookMax = 0;

  const { Pool } = core();
  const pool = new Pool(poolOptions({
    name: 'bench-scale',
    max: MAX,
    maxConcurrency: 100,
    onGrowStart: (event) => {
      grown.add(event.runnerId);
      hookMax = Math.max(hookMax, event.runnerCount);
    },
  }));
  const sample = () => {
    const memory = process.memoryUsage();
    peak.rss = Math.max(peak.rss, memory.rss);
    peak.heapUsed = Math.max(peak.heapUsed, memory.heapUsed);
    const stats = pool.stats();
    peak.runners = Math.max(peak.runners, stats.runners + stats.booting);
  };
  const sampler = setInterval(sample, 5);

  try {
    const started = performance.now();
    const pending = [];
    for (let i = 0; i < calls; i++) pending.push(pool.call('tasks/tiny#sleep', [1, i]));
    sample();
    const outcomes = await Promise.allSettled(pending);
    const ms = performance.now() - started;
    sample();

    let failures = 0;
    let firstError;
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled' && outcome.value === i) return;
      failures++;
      const error = outcome.status === 'rejected' ? outcome.reason : undefined;
      firstError ??= error ?? new Error(`call ${i} got ${outcome.value}`);
    });
    if (firstError !== undefined) console.log(`  first failure: ${firstError.message}`);

    return {
      ms,
      failures,
      maxRunners: Math.max(peak.runners, hookMax),
      started: grown.size,
      rss: (peak.rss - before.rss) / MB,
      heapUsed: (peak.heapUsed - before.heapUsed) / MB,
    };
  } finally {
    clearInterval(sampler);
    await pool.close();
  }
}

async function run() {
  const rounds = config.rounds(5);
  const calls = 10_000;
  if (typeof global.gc !== 'function') {
    console.log('  (no --expose-gc: baselines are not collected)');
  }
  console.log(`  ${rounds} rounds of ${calls} calls at once, every round measured`);

  const results = [];
  for (let round = 0; round < rounds; round++) {
    const result = await oneRound(calls);
    console.log(
      `  round ${round + 1}: ${result.ms.toFixed(0)} ms, ${result.failures} failed, ` +
        `${result.maxRunners} runners at most (${result.started} started), ` +
        `rss +${result.rss.toFixed(1)} MB, heapUsed +${result.heapUsed.toFixed(1)} MB`,
    );
    results.push(result);
  }

  const of = (key) => summarize(results.map((result) => result[key]));
  const failures = results.reduce((sum, result) => sum + result.failures, 0);
  // These hold for every round, so the worst one is what is judged.
  const worst = (op, value) => ({ op, value, on: 'max' });
  return [
    row(BENCH, '10 000 calls of 1 ms, max 4', 'ms', of('ms')),
    row(BENCH, 'failed calls (all rounds)', 'count', summarize([failures]), { op: '<=', value: 0 }),
    row(BENCH, 'runners at once (max over rounds)', 'count', of('maxRunners'), worst('<=', MAX)),
    row(BENCH, 'parent rss growth (peak)', 'MB', of('rss'), worst('<', 100)),
    row(BENCH, 'parent heapUsed growth (peak)', 'MB', of('heapUsed'), worst('<', 100)),
  ];
}

module.exports = { name: 'scale', title: '5. scale', run };
