#!/usr/bin/env node
'use strict';
// Profiles one bench scenario on both ends: the parent runs under --cpu-prof, and its pool
// starts the runner with --cpu-prof through LocalBackend's execArgv. Prints the functions
// with the most self time on each side; the .cpuprofile files stay in the output directory
// for Chrome DevTools or speedscope.
//
//   node bench/profile.js throughput|latency|echo16|objects|cold|raw-throughput [outDir]
//
// raw-throughput profiles the raw echo baseline (bench/raw-server.js as the "runner").
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const SCENARIOS = ['throughput', 'latency', 'echo16', 'objects', 'cold', 'raw-throughput'];
const THROUGHPUT_ROUNDS = 5;

// ---- the scenario, run in the profiled child ------------------------------------------

async function scenario(name, dir) {
  const { windowed } = require('./lib/drive');
  const runnerFlags = ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'runner')}`];
  if (name === 'raw-throughput') {
    const raw = await require('./lib/raw-echo').startRawEcho(runnerFlags);
    try {
      const call = (n) => raw.call('tasks/tiny#noop', [n]);
      for (let i = 0; i < THROUGHPUT_ROUNDS; i++) await windowed(100_000, 1_000, call);
    } finally {
      await raw.close();
    }
    return;
  }

  const { Pool, LocalBackend } = require('./lib/paths').core();
  const { BENCH_ROOT } = require('./lib/paths');
  const { sequential } = require('./lib/drive');
  const backend = new LocalBackend({ execArgv: runnerFlags });
  const pool = new Pool({
    name: 'bench-profile',
    max: 1,
    maxConcurrency: 1_000,
    logger: false,
    taskRoot: BENCH_ROOT,
    backend,
  });

  try {
    if (name === 'cold') {
      await pool.call('tasks/tiny#noop', [1]);
      return;
    }
    await pool.call('tasks/tiny#noop', [1]);
    if (name === 'throughput') {
      const call = (n) => pool.call('tasks/tiny#noop', [n]);
      for (let i = 0; i < THROUGHPUT_ROUNDS; i++) await windowed(100_000, 1_000, call);
    } else if (name === 'latency') {
      await sequential(30_000, (n) => pool.call('tasks/tiny#noop', [n]));
    } else if (name === 'echo16') {
      const payload = Buffer.alloc(16 * 1024 * 1024, 7);
      for (let i = 0; i < 40; i++) await pool.call('tasks/tiny#echo', [payload]);
    } else if (name === 'objects') {
      for (let i = 0; i < 200; i++) await pool.call('tasks/tiny#objects', [10_000]);
    }
  } finally {
    await pool.close();
  }
}

// ---- reading a .cpuprofile ------------------------------------------------------------

/** Self time per function (ms), highest first. */
function selfTimes(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const ms = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = (profile.timeDeltas[i] ?? 0) / 1000;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    ms.set(key, (ms.get(key) ?? 0) + delta);
    total += delta;
  });
  return { total, top: [...ms.entries()].sort((a, b) => b[1] - a[1]) };
}

function printProfile(label, file, count) {
  const { total, top } = selfTimes(file);
  console.log(`\n${label}: ${path.relative(process.cwd(), file)} (${total.toFixed(0)} ms sampled)`);
  for (const [key, ms] of top.slice(0, count)) {
    const share = ((ms / total) * 100).toFixed(1).padStart(5);
    console.log(`  ${share}%  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
  }
}

function newest(dir) {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const modified = (file) => fs.statSync(path.join(dir, file)).mtimeMs;
  files.sort((a, b) => modified(b) - modified(a));
  return files[0] && path.join(dir, files[0]);
}

function main() {
  const [name, out] = process.argv.slice(2);
  if (!SCENARIOS.includes(name)) {
    console.error(`usage: node bench/profile.js ${SCENARIOS.join('|')} [outDir]`);
    process.exitCode = 2;
    return;
  }
  const dir = path.resolve(out ?? fs.mkdtempSync(path.join(os.tmpdir(), `flame-prof-${name}-`)));
  const result = spawnSync(
    process.execPath,
    [
      '--cpu-prof',
      `--cpu-prof-dir=${path.join(dir, 'parent')}`,
      __filename,
      '--scenario',
      name,
      dir,
    ],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) {
    process.exitCode = 1;
    return;
  }
  const count = Number(process.env.PROFILE_TOP) || 25;
  for (const side of ['parent', 'runner']) {
    const file = newest(path.join(dir, side));
    if (file) printProfile(side, file, count);
    else console.log(`\n${side}: no profile written`);
  }
}

if (process.argv[2] === '--scenario') {
  scenario(process.argv[3], process.argv[4]).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  main();
}
