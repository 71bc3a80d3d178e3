import { LocalBackend, Pool, type Backend } from '@flame-node/core';
import { DockerBackend } from '@flame-node/docker';
import type { WebConfig } from './config';

/**
 * The app's pool. With `WEB_BACKEND=docker` each runner is a container of the app's own
 * image (`FLAME_DOCKER_IMAGE`) on the runner network (`FLAME_DOCKER_NETWORK`), running the
 * backend's default command, `node /app/packages/core/dist/runner.js`: that loads task
 * modules only, never this server. With `WEB_BACKEND=local` runners are child processes.
 *
 * `onChange` is called whenever the number of runners changes.
 */
export function createPool(config: WebConfig, onChange: () => void): Pool {
  // Hooks run inside the pool's bookkeeping; the counters are read once it has settled.
  const changed = (): void => queueMicrotask(onChange);

  return new Pool({
    name: config.poolName,
    backend: createBackend(config),
    min: config.min,
    max: config.max,
    maxConcurrency: config.maxConcurrency,
    idleShutdownAfter: config.idleShutdownAfter,
    // Task names resolve next to this file: dist/tasks/paint.js. The image keeps the
    // checkout's layout, so runners find the same path.
    taskRoot: __dirname,
    // Within `docker stop`'s default 10 s: tasks take about a second.
    shutdownTimeout: 5_000,
    onGrowStart: changed,
    onGrowEnd: changed,
    onShrink: changed,
  });
}

function createBackend(config: WebConfig): Backend {
  if (config.backend === 'local') return new LocalBackend();
  // Image and network come from FLAME_DOCKER_IMAGE and FLAME_DOCKER_NETWORK: the image this
  // parent runs from, so the daemon already has it.
  return new DockerBackend();
}
