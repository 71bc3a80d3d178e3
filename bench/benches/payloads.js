'use strict';
// 3. Payloads: a Buffer argument echoed back (1 MiB and 16 MiB), and a result of 10 000
// small objects built on the runner, each against the raw echo doing the same.
// MB/s counts the payload once per round trip (size / time from call to result), although
// it crosses the wire twice: the figure is what a caller sees for one buffer. 1 MB = 10^6 B.
// The socket-only row reflects the same bytes as bare frames (no msgpack, no Channel): the
// ceiling this machine's loopback and Node's sockets leave for any protocol.
const { performance } = require('node:perf_hooks');
const { core } = require('../lib/paths');
const { BACKEND, poolOptions } = require('../lib/backend');
const { startByteEcho, startRawEcho } = require('../lib/raw-echo');
const { summarize } = require('../lib/stats');
const { row } = require('../lib/report');
const config = require('../lib/config');

const MiB = 1024 * 1024;
const BENCH = '3 payloads';

/** Per-round ratios of two series measured round by round. */
function ratios(values, bases) {
  return summarize(values.map((value, i) => value / bases[i]));
}

// Calls `call` `count` times in a row; returns the elapsed ms. Checks each result.
async function timed(count, call, check) {
  const started = performance.now();
  for (let i = 0; i < count; i++) check(await call());
  return performance.now() - started;
}

async function run() {
  const { Pool } = core();
  const rounds = config.rounds(5);
  const cases = [
    { label: '1 MiB', bytes: MiB, calls: config.size(40, 10) },
    { label: '16 MiB', bytes: 16 * MiB, calls: config.size(6, 2) },
  ];
  const objectCount = 10_000;
  const objectCalls = config.size(20, 5);
  console.log(`  ${rounds} rounds after one warm-up round`);

  const pool = new Pool(poolOptions({ name: 'bench-payloads', max: 1 }));
  const raw = await startRawEcho();
  const reflector = await startByteEcho();
  const subjects = { pool: (task, args) => pool.call(task, args), raw: raw.call };

  try {
    const rows = [];
    for (const { label, bytes, calls } of cases) {
      const payload = Buffer.alloc(bytes, 7);
      const check = (result) => {
        if (Buffer.isBuffer(result) && result.length === bytes) return;
        throw new Error(`bad echo of ${label}`);
      };
      const rates = { pool: [], raw: [], socket: [] };
      const echoes = {
        pool: () => subjects.pool('tasks/tiny#echo', [payload]),
        raw: () => subjects.raw('tasks/tiny#echo', [payload]),
        socket: () => reflector.echo(payload),
      };
      for (let round = -1; round < rounds; round++) {
        for (const [name, echo] of Object.entries(echoes)) {
          const ms = await timed(calls, echo, check);
          if (round >= 0) rates[name].push((bytes * calls) / 1e6 / (ms / 1000));
        }
      }
      const local = BACKEND === 'local';
      const target = bytes === 16 * MiB && local ? { op: '>=', value: 1_000 } : undefined;
      rows.push(
        row(BENCH, `echo ${label} Buffer, pool`, 'MB/s', summarize(rates.pool), target),
        row(BENCH, `echo ${label} Buffer, raw echo`, 'MB/s', summarize(rates.raw)),
        row(BENCH, `echo ${label} bytes, socket only`, 'MB/s', summarize(rates.socket)),
        row(BENCH, `echo ${label}, pool / raw`, 'x', ratios(rates.pool, rates.raw)),
      );
    }

    const check = (result) => {
      if (!Array.isArray(result) || result.length !== objectCount) throw new Error('bad objects');
    };
    const perCall = { pool: [], raw: [] };
    for (let round = -1; round < rounds; round++) {
      for (const [name, call] of Object.entries(subjects)) {
        const ms = await timed(objectCalls, () => call('tasks/tiny#objects', [objectCount]), check);
        if (round >= 0) perCall[name].push(ms / objectCalls);
      }
    }
    rows.push(
      row(BENCH, '10 000 objects result, pool', 'ms', summarize(perCall.pool)),
      row(BENCH, '10 000 objects result, raw echo', 'ms', summarize(perCall.raw)),
      row(BENCH, '10 000 objects, pool / raw', 'x', ratios(perCall.pool, perCall.raw)),
    );
    return rows;
  } finally {
    await pool.close();
    await raw.close();
    await reflector.close();
  }
}

module.exports = { name: 'payloads', title: '3. payloads', run };
