// Task modules of the benchmarks. They run on flame runners (`tasks/tiny#noop`), and the raw
// echo server of bench/raw-server.js calls the very same functions, so both sides of a
// comparison do the same work per call.

/** The tiny call: returns its argument. */
exports.noop = function noop(value) {
  return value;
};

/** Returns the Buffer it was given: the payload travels there and back. */
exports.echo = function echo(bytes) {
  return bytes;
};

/** A result of `count` small objects, built on the runner. */
exports.objects = function objects(count) {
  const items = new Array(count);
  for (let i = 0; i < count; i++) {
    items[i] = { id: i, name: `item-${i}`, score: i * 0.5, active: i % 2 === 0 };
  }
  return items;
};

/** Waits `ms` (a timer, not CPU), then returns `tag`. */
exports.sleep = function sleep(ms, tag) {
  return new Promise((resolve) => setTimeout(resolve, ms, tag));
};
