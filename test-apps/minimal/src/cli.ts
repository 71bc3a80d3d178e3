#!/usr/bin/env node
/*
 * The minimal app without a REPL, for scripts and tests: `node dist/cli.js <command>`.
 * Every outcome is one JSON line on stdout with an `event` field; flame-node's own log
 * lines (pino JSON, `warn` and up unless FLAME_LOG_LEVEL says otherwise) have none.
 */
import { hostname } from 'node:os';
import type { Pool } from '@flame-node/core';
import { burst, one, ROLL } from './demo';
import { emit, settle } from './output';
import {
  createBackend,
  createPool,
  MEMORY_LIMIT,
  type PoolKind,
  type PoolOverrides,
  type Pools,
} from './pools';
import { serve } from './serve';

const USAGE = `usage: node dist/cli.js <command>
  one            one call: a random number and the runner's hostname
  ten            ten calls at once
  many <n>       n calls at once; says how many runners served them
  hold [n]       start n runners (default: the pool's max), print a line, stay until killed
  memory         a task allocates 512 MiB in a runner limited to 64 MiB, then a new call
  boot-fail      a runner whose command exits 3 at once: the BootError
  timings        an empty pool's first call, then warm calls
  serve          read JSON commands from stdin, one per line (see src/serve.ts)`;

type Command = (pools: Pools, args: string[]) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  one: async (pools) => emit({ event: 'one', ...(await settle(one(pools.get('main')))) }),
  ten: async (pools) => emit({ event: 'many', ...(await burst(pools.get('main'), 10)) }),
  many: async (pools, [count]) => {
    emit({ event: 'many', ...(await burst(pools.get('main'), positive(count, 'many <n>'))) });
  },
  hold,
  memory: async (pools) => {
    const pool = pools.get('memory');
    const first = await settle(pool.call('tasks/memory#hog', [512]));
    const next = await settle(pool.call('tasks/work#ping'));
    emit({ event: 'memory', limitMiB: MEMORY_LIMIT / 2 ** 20, first, next });
  },
  'boot-fail': async (pools) => {
    emit({ event: 'boot-fail', ...(await settle(pools.get('broken').call(ROLL, [10]))) });
  },
  timings,
  serve: (pools) => serve(pools, process.stdin),
};

async function hold(pools: Pools, [count]: string[]): Promise<void> {
  // One call per runner, so each child lands on a runner of its own.
  const pool = pools.get('main', { maxConcurrency: 1 });
  const n = count === undefined ? pool.options.max : positive(count, 'hold [n]');
  await Promise.all(Array.from({ length: n }, () => pool.placeChild('tasks/work#wait')));
  emit({ event: 'holding', parent: hostname(), ...pool.stats() });
  await new Promise(() => undefined);
}

async function timings(pools: Pools): Promise<void> {
  const pool = pools.get('main');
  const cold = await settle(pool.call('tasks/work#ping'));
  const warm: number[] = [];
  for (let i = 0; i < 20; i++) warm.push((await settle(pool.call('tasks/work#ping'))).ms);
  warm.sort((a, b) => a - b);
  const median = warm[Math.floor(warm.length / 2)];
  emit({ event: 'timings', coldMs: cold.ms, warmMs: { min: warm[0], median, max: warm.at(-1) } });
}

function positive(raw: string | undefined, usage: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`usage: ${usage}`);
  return value;
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }

  const pools = new PoolSet();
  // Stopping the container (or Ctrl-C) aborts what runs and stops the runners first.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void pools.terminate().then(() => process.exit(0)));
  }
  try {
    await command(pools, args);
  } catch (error) {
    emit({ event: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
  }
  await pools.close();
}

/** The app's pools, made on first use, sharing one backend (one Engine API connection). */
class PoolSet implements Pools {
  readonly #backend = createBackend();
  readonly #pools = new Map<PoolKind, Pool>();

  get(kind: PoolKind, overrides?: PoolOverrides): Pool {
    let pool = this.#pools.get(kind);
    if (pool === undefined) {
      pool = createPool(kind, this.#backend, overrides);
      this.#pools.set(kind, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
  }

  async terminate(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.terminate()));
  }
}

void main();
