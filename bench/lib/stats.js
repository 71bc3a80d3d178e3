'use strict';
// Order statistics of repeated measurements. Benchmarks report medians with their spread,
// never a mean: one descheduled round on a busy machine would drag a mean anywhere.

/** The q-quantile (0..1) of `values`, interpolating between neighbours. */
function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

function median(values) {
  return quantile(values, 0.5);
}

/** Median, quartiles and range of a set of round results. */
function summarize(values) {
  return {
    n: values.length,
    median: median(values),
    p25: quantile(values, 0.25),
    p75: quantile(values, 0.75),
    min: Math.min(...values),
    max: Math.max(...values),
    values,
  };
}

module.exports = { quantile, median, summarize };
