'use strict';
// 2. Warm throughput: `total` tiny calls to one runner with `window` of them in flight
// (each settled call starts the next), against the raw echo under the same load. piscina's
// figure (one thread, same window) is for context only: it runs one task at a time.
const { BACKEND } = require('../lib/backend');
const { tinySubjects } = require('../lib/subjects');
const { windowed } = require('../lib/drive');
const { summarize } = require('../lib/stats');
const { row } = require('../lib/report');
const config = require('../lib/config');

const BENCH = '2 throughput';

async function run() {
  const rounds = config.rounds(5);
  const total = config.size(100_000, 20_000);
  const window = Number(process.env.BENCH_WINDOW) || 1_000;
  console.log(`  ${rounds} rounds of ${total} calls, ${window} in flight, after one warm-up round`);

  const { subjects, close } = await tinySubjects({
    name: 'bench-throughput',
    max: 1,
    maxConcurrency: window,
  });

  try {
    const rates = { pool: [], raw: [], piscina: [] };
    for (let round = -1; round < rounds; round++) {
      for (const [name, call] of Object.entries(subjects)) {
        const ms = await windowed(total, window, call);
        if (round >= 0) rates[name].push(total / (ms / 1000));
      }
    }

    const local = BACKEND === 'local';
    const ratio = rates.pool.map((value, i) => value / rates.raw[i]);
    const where = local ? '' : ' (loopback, in the parent container)';
    // Targets for local runners only; see latency.js.
    const atLeast = (value) => (local ? { op: '>=', value } : undefined);
    const rows = [
      row(BENCH, `pool.call, 1 ${BACKEND} runner`, 'calls/s', summarize(rates.pool),
        atLeast(150_000)),
      row(BENCH, `raw echo (Channel, no pool)${where}`, 'calls/s', summarize(rates.raw)),
      row(BENCH, 'pool / raw echo', 'x', summarize(ratio), atLeast(0.8)),
    ];
    if (subjects.piscina) {
      rows.push(row(BENCH, 'piscina run(), 1 thread', 'calls/s', summarize(rates.piscina)));
    }
    return rows;
  } finally {
    await close();
  }
}

module.exports = { name: 'throughput', title: '2. warm throughput', run };
