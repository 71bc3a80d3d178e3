// The newcomer's first run: a pool of local runner processes (the embedded default), one
// call, then a burst of calls that the pool spreads over at most `max` runners.
const { Pool } = require('@flame-node/core');

async function main() {
  const pool = new Pool({ name: 'hello', max: 2, maxConcurrency: 2, taskRoot: __dirname });
  console.log(`parent pid ${process.pid}`);

  const started = Date.now();
  const first = await pool.call('tasks/where#whoami', ['newcomer']);
  console.log(`cold call (${Date.now() - started} ms):`, first);

  const burst = await Promise.all(
    Array.from({ length: 8 }, (_, i) => pool.call('tasks/where#primes', [3_000_000 + i])),
  );
  const pids = new Set(burst.map((result) => result.pid));
  console.log(`8 calls ran on ${pids.size} runner process(es): ${[...pids].join(', ')}`);
  console.log(`primes below ${burst[0].limit}: ${burst[0].count}`);
  console.log('stats:', pool.stats());

  await pool.close();
  console.log('pool closed, no runner left');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
