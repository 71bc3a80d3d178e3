#!/usr/bin/env node
/*
 * The minimal app's parent: an interactive Node REPL with a pool of Docker runners loaded.
 * Started by scripts/minimal/01_run.sh as `node test-apps/minimal/dist/main.js`.
 */
import { hostname } from 'node:os';
import repl from 'node:repl';
import * as demo from './demo';
import { createPool } from './pools';

const pool = createPool('main');

const helpers = {
  pool,
  one: () => demo.one(pool),
  ten: () => demo.ten(pool),
  tenThousand: () => demo.tenThousand(pool),
  stats: () => demo.stats(pool),
};

process.stdout.write(
  [
    `flame-node minimal parent on ${hostname()}: pool "${pool.name}", ` +
      `max ${pool.options.max}, idle runners stop after ${pool.options.idleShutdownAfter} ms`,
    '  await one()          one call: a random number and the runner hostname',
    '  await ten()          10 calls at once',
    '  await tenThousand()  10 000 calls at once: only `max` runner containers appear',
    '  stats()              runners, booting, busy, queued',
    '  pool                 the Pool itself (pool.call, pool.close, ...)',
    'Attach to a runner: docker exec -it <runner> node /app/packages/core/dist/attach.js',
    '',
  ].join('\n'),
);

const session = repl.start({ prompt: 'minimal> ' });
Object.assign(session.context, helpers);

// Leaving the REPL lets calls in flight finish; a stop signal (docker stop) aborts them,
// since Docker kills the container 10 s after it.
let closing = false;
async function shutdown(how: 'close' | 'terminate'): Promise<void> {
  if (closing) return;
  closing = true;
  await (how === 'close' ? pool.close() : pool.terminate());
  process.exit(0);
}

session.on('exit', () => void shutdown('close'));
process.on('SIGTERM', () => void shutdown('terminate'));
