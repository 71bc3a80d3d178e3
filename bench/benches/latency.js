'use strict';
// 1. Warm call latency: tiny calls one after the other on one warm runner, against the raw
// echo (same framing and codec, no pool) and piscina's run() on a one-thread pool. Each
// round times `calls` calls of every subject in turn, so drift on the machine hits all of
// them alike; a round's figure is the median latency of its calls, and a ratio is taken
// round by round (pool and baseline measured moments apart), then its median reported.
const { BACKEND } = require('../lib/backend');
const { tinySubjects } = require('../lib/subjects');
const { sequential } = require('../lib/drive');
const { median, quantile, summarize } = require('../lib/stats');
const { row } = require('../lib/report');
const config = require('../lib/config');

const BENCH = '1 latency';

async function run() {
  const rounds = config.rounds(7);
  const calls = config.size(2_000, 300);
  const warmup = config.size(5_000, 500);
  console.log(
    `  ${rounds} rounds of ${calls} sequential calls per subject, after ${warmup} warm-up calls`,
  );

  const { subjects, close } = await tinySubjects({ name: 'bench-latency', max: 1 });

  try {
    for (const call of Object.values(subjects)) await sequential(warmup, call);

    const medians = { pool: [], raw: [], piscina: [] };
    const p99 = { pool: [], raw: [], piscina: [] };
    for (let round = 0; round < rounds; round++) {
      for (const [name, call] of Object.entries(subjects)) {
        const times = await sequential(calls, call);
        medians[name].push(median(times));
        p99[name].push(quantile(times, 0.99));
      }
    }

    const ratio = (a, b) => summarize(medians[a].map((value, i) => value / medians[b][i]));
    const where = BACKEND === 'docker' ? ' (loopback, in the parent container)' : '';
    // The ratio to the raw echo is a target for local runners only: with containers the
    // pool crosses a container network that the in-container raw echo does not.
    const target = BACKEND === 'local' ? { op: '<=', value: 1.3 } : undefined;
    const rows = [
      row(BENCH, `pool.call, 1 warm ${BACKEND} runner`, 'us', summarize(medians.pool)),
      row(BENCH, `raw echo (Channel, no pool)${where}`, 'us', summarize(medians.raw)),
      row(BENCH, 'pool.call p99', 'us', summarize(p99.pool)),
      row(BENCH, 'pool / raw echo', 'x', ratio('pool', 'raw'), target),
    ];
    if (subjects.piscina) {
      rows.push(
        row(BENCH, 'piscina run(), 1 thread', 'us', summarize(medians.piscina)),
        row(BENCH, 'pool / piscina', 'x', ratio('pool', 'piscina'), { op: '<=', value: 1.0 }),
      );
    }
    return rows;
  } finally {
    await close();
  }
}

module.exports = { name: 'latency', title: '1. warm call latency', run };
