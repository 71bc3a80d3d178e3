'use strict';
// Result rows and their printing. A row is one figure: the median of its rounds, the spread
// (min-max over rounds), and, when the issue sets one, a target with PASS or MISS.

const UNITS = {
  us: { digits: 1, suffix: ' µs' },
  ms: { digits: 1, suffix: ' ms' },
  'calls/s': { digits: 0, suffix: '/s' },
  'MB/s': { digits: 0, suffix: ' MB/s' },
  MB: { digits: 1, suffix: ' MB' },
  x: { digits: 2, suffix: 'x' },
  count: { digits: 0, suffix: '' },
};

function number(value, unit) {
  const { digits } = UNITS[unit];
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function withUnit(value, unit) {
  return number(value, unit) + UNITS[unit].suffix;
}

const COMPARE = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
};

/**
 * Builds a row. `target` is `{ op: '<' | '<=' | '>=', value }`, checked against the median, or
 * against `target.on` ('max', 'min') when the issue asks for every round to hold.
 */
function row(bench, metric, unit, summary, target) {
  let verdict = '';
  if (target !== undefined) {
    const measured = summary[target.on ?? 'median'];
    verdict = COMPARE[target.op](measured, target.value) ? 'PASS' : 'MISS';
  }
  return { bench, metric, unit, summary, target, verdict };
}

function targetText(row) {
  const { target, unit } = row;
  if (target === undefined) return '';
  const on = target.on === undefined ? '' : ` (${target.on})`;
  return `${target.op} ${withUnit(target.value, unit)}${on}`;
}

function spreadText(row) {
  const { summary, unit } = row;
  if (summary.n <= 1) return '';
  return `${number(summary.min, unit)} – ${number(summary.max, unit)}`;
}

/** Prints rows as an aligned text table. */
function printTable(rows, title) {
  const header = ['bench', 'metric', 'median', 'spread (min – max)', 'target', 'result'];
  const lines = rows.map((r) => [
    r.bench,
    r.metric,
    withUnit(r.summary.median, r.unit),
    spreadText(r),
    targetText(r),
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) =>
    cells.map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ').trimEnd();

  if (title) console.log(`\n${title}`);
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
}

/** One line per row, for the progress output of a single bench. */
function printRows(rows) {
  for (const r of rows) {
    const spread = spreadText(r);
    const target = targetText(r);
    console.log(
      `  ${r.metric}: ${withUnit(r.summary.median, r.unit)}` +
        (spread ? ` [${spread}]` : '') +
        (target ? `  target ${target}: ${r.verdict}` : ''),
    );
  }
}

module.exports = { row, printTable, printRows, withUnit };
