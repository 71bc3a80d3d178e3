'use strict';
const path = require('node:path');
const { BENCH_ROOT, core } = require('./paths');
const { poolOptions, loadPiscina } = require('./backend');
const { startRawEcho } = require('./raw-echo');

const TASK = 'tasks/tiny#noop';

/**
 * The subjects the latency and throughput benches compare on one tiny task: a pool with
 * `options`, the raw echo, and piscina on one thread when it is installed. Each subject is
 * `(i) => Promise`; `close()` ends all three.
 */
async function tinySubjects(options) {
  const { Pool } = core();
  const pool = new Pool(poolOptions(options));
  const raw = await startRawEcho();
  const Piscina = loadPiscina();
  const piscina =
    Piscina &&
    new Piscina({
      filename: path.join(BENCH_ROOT, 'tasks', 'piscina-noop.js'),
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Infinity,
    });

  const subjects = {
    pool: (i) => pool.call(TASK, [i]),
    raw: (i) => raw.call(TASK, [i]),
  };
  if (piscina) subjects.piscina = (i) => piscina.run(i);

  const close = async () => {
    await pool.close();
    await raw.close();
    await piscina?.destroy();
  };
  return { subjects, close };
}

module.exports = { tinySubjects };
