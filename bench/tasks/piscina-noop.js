// The piscina worker of the latency and throughput comparisons: the same tiny call as
// tasks/tiny.js#noop, in piscina's one-function-per-file form.
module.exports = function noop(value) {
  return value;
};
