#!/usr/bin/env node
'use strict';
// `npm run bench`: runs the local benchmarks, each in a fresh Node process of its own (so
// one bench's heap, JIT state and leftover sockets cannot colour the next, and the memory
// figures of the scale bench start clean), then prints one table of every figure.
//
//   node bench/run.js                      all local benches
//   node bench/run.js latency scale        some of them
//   node bench/run.js --json out.json      also write the rows as JSON
//
// Figures are printed, never asserted: the exit code is non-zero only when a bench crashed.
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const { printRows, printTable } = require('./lib/report');
const { BACKEND } = require('./lib/backend');
const { CORE_DIR } = require('./lib/paths');

const BENCHES = ['latency', 'throughput', 'payloads', 'cold-start', 'scale'];

function load(name) {
  return require(`./benches/${name}`);
}

// Child side: run one bench and hand its rows to the parent.
async function child(name) {
  const bench = load(name);
  const rows = await bench.run();
  await new Promise((resolve) => process.send({ rows }, resolve));
}

function runInChild(name) {
  return new Promise((resolve, reject) => {
    const worker = fork(__filename, ['--child', name], {
      execArgv: ['--expose-gc', ...process.execArgv],
      stdio: 'inherit',
    });
    let rows;
    worker.on('message', (message) => (rows = message.rows));
    worker.once('error', reject);
    worker.once('exit', (code, signal) => {
      if (rows !== undefined && code === 0) resolve(rows);
      else reject(new Error(`bench ${name} failed (exit ${code ?? signal})`));
    });
  });
}

function parseArgs(argv) {
  const names = [];
  let json;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = argv[++i];
    else if (BENCHES.includes(argv[i])) names.push(argv[i]);
    else throw new Error(`unknown argument ${argv[i]} (benches: ${BENCHES.join(', ')})`);
  }
  return { names: names.length > 0 ? names : BENCHES, json };
}

async function main() {
  const { names, json } = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  console.log(
    `flame-node benchmarks (${BACKEND} backend): node ${process.version}, ${cpus.length} x ` +
      `${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}` +
      (process.env.BENCH_QUICK === '1' ? ', QUICK mode (figures not for comparing)' : ''),
  );
  if (process.env.BENCH_CORE) console.log(`core under test: ${CORE_DIR}`);

  const rows = [];
  let crashed = 0;
  for (const name of names) {
    console.log(`\n${load(name).title}`);
    try {
      const result = await runInChild(name);
      printRows(result);
      rows.push(...result);
    } catch (error) {
      crashed++;
      console.log(`  ${error.message}`);
    }
  }

  printTable(rows, 'summary');
  const missed = rows.filter((r) => r.verdict === 'MISS').length;
  const checked = rows.filter((r) => r.verdict !== '').length;
  const crashes = crashed ? `, ${crashed} bench(es) crashed` : '';
  console.log(`\n${checked - missed} of ${checked} targets met${crashes}`);
  if (json) {
    const meta = { node: process.version, backend: BACKEND, core: CORE_DIR, load: os.loadavg() };
    fs.writeFileSync(json, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  }
  if (crashed) process.exitCode = 1;
}

if (process.argv[2] === '--child') {
  child(process.argv[3]).catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  main().catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
