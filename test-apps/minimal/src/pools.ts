import { Pool, type PoolOptions } from '@flame-node/core';
import { DockerBackend } from '@flame-node/docker';

const base = process.env.MINIMAL_POOL || 'minimal';

/**
 * Pool names of the minimal app: `minimal`, `minimal-memory` and `minimal-broken`, or the
 * same under another stem set by `MINIMAL_POOL`. Runner containers carry them in the
 * `flame-node.pool` label, which is how scripts/minimal/02_cleanup.sh finds this app's
 * runners and no other's.
 */
export const POOL_NAMES = Object.freeze({
  main: base,
  memory: `${base}-memory`,
  broken: `${base}-broken`,
});

export type PoolKind = keyof typeof POOL_NAMES;

/** Options of the main pool that `createPool` lets a caller change. */
export type PoolOverrides = Partial<Omit<PoolOptions, 'name' | 'backend'>>;

/** The app's pools by kind, made on first use (see cli.ts). */
export interface Pools {
  get(kind: PoolKind, overrides?: PoolOverrides): Pool;
  close(): Promise<void>;
  terminate(): Promise<void>;
}

/** The memory limit of the `memory` pool's runners. */
export const MEMORY_LIMIT = 64 * 1024 * 1024;

/** What the runners of the `broken` pool run instead of the runner agent. */
export const BROKEN_COMMAND = [
  'node',
  '-e',
  "console.error('minimal: this runner command fails on purpose'); process.exit(3)",
];

function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, received ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The settings of the main pool: min 0, max 2, idle runners stop after 15 s, boots time out
 * after 30 s. The tests and the README's experiments change them through `MINIMAL_MAX`,
 * `MINIMAL_IDLE_MS`, `MINIMAL_MAX_CONCURRENCY` and `MINIMAL_BOOT_TIMEOUT_MS`.
 */
export function mainPoolOptions(): Omit<PoolOptions, 'backend' | 'name'> {
  return {
    min: 0,
    max: envInteger('MINIMAL_MAX', 2),
    idleShutdownAfter: envInteger('MINIMAL_IDLE_MS', 15_000),
    maxConcurrency: envInteger('MINIMAL_MAX_CONCURRENCY', 100),
    bootTimeout: envInteger('MINIMAL_BOOT_TIMEOUT_MS', 30_000),
    // Tasks are compiled to dist/tasks/*.js, next to this file.
    taskRoot: __dirname,
  };
}

/**
 * The Docker backend of every pool here. Image and network come from `FLAME_DOCKER_IMAGE`
 * and `FLAME_DOCKER_NETWORK` (the backend's own defaults), so the parent container's
 * `docker run -e ...` decides them. `FLAME_RUNNER_REPL=1` opens a REPL in each runner agent,
 * reachable with `docker exec -it <runner> node /app/packages/core/dist/attach.js`.
 * For the fault tests, `MINIMAL_DOCKER_SOCKET` sets `socketPath` and `MINIMAL_KEEP_RUNNERS=1`
 * sets `keepRunners`; unset, the backend's defaults hold.
 */
export function createBackend(): DockerBackend {
  return new DockerBackend({
    env: { FLAME_RUNNER_REPL: '1' },
    socketPath: process.env.MINIMAL_DOCKER_SOCKET || undefined,
    keepRunners: process.env.MINIMAL_KEEP_RUNNERS === '1' || undefined,
  });
}

/**
 * Makes one of the app's pools on `backend`:
 * - `main`: the pool the REPL and most commands use;
 * - `memory`: one runner limited to 64 MiB (no swap), to see an out-of-memory kill;
 * - `broken`: runners whose command exits 3 at once, to see a boot failure.
 * `overrides` change the main pool's options (the others ignore them).
 */
export function createPool(
  kind: PoolKind,
  backend = createBackend(),
  overrides: PoolOverrides = {},
): Pool {
  const name = POOL_NAMES[kind];
  switch (kind) {
    case 'main':
      return new Pool({ name, backend, ...mainPoolOptions(), ...overrides });
    case 'memory':
      return new Pool({
        name,
        max: 1,
        taskRoot: __dirname,
        backend: backend.withOptions({
          hostConfig: { Memory: MEMORY_LIMIT, MemorySwap: MEMORY_LIMIT },
        }),
      });
    case 'broken':
      return new Pool({
        name,
        max: 1,
        taskRoot: __dirname,
        backend: backend.withOptions({ cmd: BROKEN_COMMAND }),
      });
  }
}
