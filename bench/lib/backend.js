'use strict';
// Which backend the benches' pools use. `npm run bench` runs them on local runner processes;
// bench/docker/run.sh runs the same benches in a parent container with BENCH_BACKEND=docker,
// where runners are sibling containers (DockerBackend, configured by FLAME_DOCKER_IMAGE and
// FLAME_DOCKER_NETWORK, which that script sets).
const { BENCH_ROOT } = require('./paths');

const BACKEND = process.env.BENCH_BACKEND === 'docker' ? 'docker' : 'local';

let docker;

function backend() {
  if (BACKEND !== 'docker') return undefined;
  // One backend for the whole process: it holds the Engine API connection.
  docker ??= new (require('@flame-node/docker').DockerBackend)();
  return docker;
}

/** Options of a bench pool: no logging, the bench directory as task root, the backend. */
function poolOptions(options) {
  const chosen = backend();
  const base = { logger: false, taskRoot: BENCH_ROOT };
  return chosen ? { ...base, backend: chosen, ...options } : { ...base, ...options };
}

/**
 * piscina is a dev dependency: it is there for `npm run bench`, not in an app image, and a
 * thread pool says nothing about container runners anyway.
 */
function loadPiscina() {
  if (BACKEND === 'docker') return undefined;
  try {
    return require('piscina').Piscina;
  } catch {
    return undefined;
  }
}

module.exports = { BACKEND, poolOptions, loadPiscina };
