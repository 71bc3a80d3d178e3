'use strict';
// Knobs from the environment, so a quick look and a careful run use the same scripts:
//   BENCH_ROUNDS=n   measured rounds of every bench (defaults per bench)
//   BENCH_QUICK=1    smaller sizes and 3 rounds: a smoke run, figures not for comparing

const quick = process.env.BENCH_QUICK === '1';

function rounds(fallback) {
  const value = Number(process.env.BENCH_ROUNDS);
  if (Number.isInteger(value) && value > 0) return value;
  return quick ? 3 : fallback;
}

/** `full` normally, `small` under BENCH_QUICK. */
function size(full, small) {
  return quick ? small : full;
}

module.exports = { quick, rounds, size };
