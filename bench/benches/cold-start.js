'use strict';
// 4. Cold start: the first call on an empty pool (a new Pool each round, from its
// constructor to the call's result) against starting a bare Node: `node -e 0` spawned here
// (spawn to exit), or with the Docker backend `docker run --rm <image> node -e 0` (through
// the Engine API, create to removal). Rounds alternate the two so both see the same
// machine. close() is timed too, for information.
const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { core } = require('../lib/paths');
const { BACKEND, poolOptions } = require('../lib/backend');
const { summarize } = require('../lib/stats');
const { row } = require('../lib/report');
const config = require('../lib/config');

const BENCH = '4 cold start';

function nodeStart() {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`node -e 0 exited with ${code}`));
      else resolve(performance.now() - started);
    });
  });
}

// What `docker run --rm <image> node -e 0` does, minus the CLI: create, wait for removal
// (asked before the start, as the CLI does, so the exit cannot be missed), start.
async function dockerRunStart() {
  const Docker = require('dockerode');
  const docker = new Docker();
  const started = performance.now();
  const container = await docker.createContainer({
    Image: process.env.FLAME_DOCKER_IMAGE,
    Cmd: ['node', '-e', '0'],
    Labels: { 'flame-node.bench': 'cold-start' },
    HostConfig: { AutoRemove: true, NetworkMode: process.env.FLAME_DOCKER_NETWORK },
  });
  const removed = container.wait({ condition: 'removed' });
  await container.start();
  await removed;
  return performance.now() - started;
}

async function poolStart() {
  const { Pool } = core();
  const started = performance.now();
  const pool = new Pool(poolOptions({ name: 'bench-cold', max: 1 }));
  try {
    await pool.call('tasks/tiny#noop', [1]);
    const first = performance.now() - started;
    const closing = performance.now();
    await pool.close();
    return { first, close: performance.now() - closing };
  } finally {
    await pool.close();
  }
}

async function run() {
  const rounds = config.rounds(7);
  const reference = BACKEND === 'docker' ? dockerRunStart : nodeStart;
  const label =
    BACKEND === 'docker' ? 'docker run --rm <image> node -e 0' : 'node -e 0 (spawn to exit)';
  console.log(`  ${rounds} rounds after one warm-up round`);

  const raw = [];
  const first = [];
  const close = [];
  for (let round = -1; round < rounds; round++) {
    const rawMs = await reference();
    const pool = await poolStart();
    if (round < 0) continue;
    raw.push(rawMs);
    first.push(pool.first);
    close.push(pool.close);
  }

  const ratio = first.map((value, i) => value / raw[i]);
  return [
    row(BENCH, `first call on a new pool (${BACKEND})`, 'ms', summarize(first)),
    row(BENCH, label, 'ms', summarize(raw)),
    row(BENCH, 'first call / bare start', 'x', summarize(ratio), { op: '<=', value: 1.5 }),
    row(BENCH, 'pool.close() after it', 'ms', summarize(close)),
  ];
}

module.exports = { name: 'cold-start', title: '4. cold start', run };
