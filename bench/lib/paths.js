'use strict';
const path = require('node:path');

/** The bench directory: the pools' task root, so `tasks/tiny#noop` is bench/tasks/tiny.js. */
const BENCH_ROOT = path.resolve(__dirname, '..');

// BENCH_CORE points at another build of the core package (a directory holding its
// package.json and dist/), to compare a change against the checkout without touching it.
const CORE_DIR = process.env.BENCH_CORE
  ? path.resolve(process.env.BENCH_CORE)
  : path.dirname(require.resolve('@flame-node/core/package.json'));
const CORE_DIST = path.join(CORE_DIR, 'dist');

/** The public API of the core package under test. */
function core() {
  return require(CORE_DIR);
}

// The wire modules are internal (not in the package's exports map), so the raw baseline
// reaches them by file path in the built package: the very code a pool runs on.
function coreInternal(file) {
  return require(path.join(CORE_DIST, file));
}

module.exports = { BENCH_ROOT, CORE_DIR, CORE_DIST, core, coreInternal };
