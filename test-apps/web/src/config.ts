/** Which backend starts the runners. */
export type BackendKind = 'docker' | 'local';

/** Everything the web app reads from its environment, defaults filled in. */
export interface WebConfig {
  /** `WEB_PORT`, else `PORT`. @default 4000 */
  port: number;
  /**
   * `WEB_HOST`. @default 127.0.0.1; the container sets 0.0.0.0 so its published port works,
   * and the scripts publish that port on the host's 127.0.0.1 only.
   */
  host: string;
  /** `WEB_DB_PATH`, relative to the working directory. @default ./data/web.db */
  dbPath: string;
  /**
   * `WEB_BACKEND`: `docker` (image and network from FLAME_DOCKER_IMAGE and FLAME_DOCKER_NETWORK)
   * or `local` (child processes). @default docker
   */
  backend: BackendKind;
  /** `WEB_POOL_NAME`: names the pool in logs and in the runners' labels. @default web */
  poolName: string;
  /** `WEB_POOL_MIN`. @default 0 */
  min: number;
  /** `WEB_POOL_MAX`. @default 2 */
  max: number;
  /**
   * `WEB_POOL_MAX_CONCURRENCY`: tasks one runner runs at once. One per runner makes the
   * queue and the second runner visible on the page. @default 1
   */
  maxConcurrency: number;
  /** `WEB_IDLE_SHUTDOWN_MS`: an idle runner above `min` stops after this long. @default 15000 */
  idleShutdownAfter: number;
  /** `WEB_TASK_MS`: how long a task sleeps before it answers. @default 1000 */
  taskMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, received ${JSON.stringify(raw)}`);
  }
  return value;
}

function text(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  return raw ? raw : fallback;
}

/** Reads the app's settings. Throws a RangeError naming the variable when one is unusable. */
export function readConfig(env: Env = process.env): WebConfig {
  const backend = text(env, 'WEB_BACKEND', 'docker');
  if (backend !== 'docker' && backend !== 'local') {
    const received = JSON.stringify(backend);
    throw new RangeError(`WEB_BACKEND must be "docker" or "local", received ${received}`);
  }
  const portName = env.WEB_PORT?.trim() ? 'WEB_PORT' : 'PORT';

  return {
    port: integer(env, portName, 4000, 0),
    host: text(env, 'WEB_HOST', '127.0.0.1'),
    dbPath: text(env, 'WEB_DB_PATH', './data/web.db'),
    backend,
    poolName: text(env, 'WEB_POOL_NAME', 'web'),
    min: integer(env, 'WEB_POOL_MIN', 0, 0),
    max: integer(env, 'WEB_POOL_MAX', 2, 1),
    maxConcurrency: integer(env, 'WEB_POOL_MAX_CONCURRENCY', 1, 1),
    idleShutdownAfter: integer(env, 'WEB_IDLE_SHUTDOWN_MS', 15_000, 1),
    taskMs: integer(env, 'WEB_TASK_MS', 1_000, 0),
  };
}
