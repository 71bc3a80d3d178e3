'use strict';
const { performance } = require('node:perf_hooks');

/** Runs `count` calls one after the other; returns each call's latency in µs. */
async function sequential(count, call) {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call(i);
    times[i] = (performance.now() - started) * 1000;
  }
  return Array.from(times);
}

/**
 * Runs `total` calls keeping `window` of them in flight: each one that settles starts the
 * next. Resolves to the elapsed ms; rejects on the first failure.
 */
function windowed(total, window, call) {
  return new Promise((resolve, reject) => {
    let started = 0;
    let settled = 0;
    let failed = false;
    const begin = performance.now();

    const onDone = () => {
      settled++;
      if (settled === total) resolve(performance.now() - begin);
      else if (started < total) launch();
    };
    const onError = (error) => {
      if (!failed) reject(error);
      failed = true;
    };
    function launch() {
      const index = started++;
      call(index).then(onDone, onError);
    }

    for (let i = 0; i < Math.min(window, total); i++) launch();
  });
}

module.exports = { sequential, windowed };
