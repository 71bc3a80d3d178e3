import pino from 'pino';
import type { RunnerLaunch } from '@flame-node/core';
import { DockerBackend, type DockerBackendOptions } from '../src';
import type { FakeEngine } from './fake-engine';

export type LogRecord = Record<string, unknown> & { level: number; msg: string };

/** A debug-level pino logger that keeps its records in memory. */
export function captureLogger(): { logger: RunnerLaunch['logger']; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino(
    { level: 'trace' },
    { write: (line: string) => void records.push(JSON.parse(line) as LogRecord) },
  );
  return { logger, records };
}

let counter = 0;

/** A launch for one runner, with a fresh unique runner id. */
export function makeLaunch(fields: Partial<RunnerLaunch> = {}): RunnerLaunch {
  counter += 1;
  return {
    runnerId: `pool-a-${process.pid}-${counter}`,
    pool: 'pool-a',
    parentId: 'parent-me',
    env: { FLAME_PARENT: 'descriptor', FLAME_COOKIE: 'secret-cookie' },
    signal: new AbortController().signal,
    logger: captureLogger().logger,
    ...fields,
  };
}

const ENV_KEYS = [
  'DOCKER_HOST',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'FLAME_DOCKER_IMAGE',
  'FLAME_DOCKER_NETWORK',
  'FLAME_DOCKER_HOST_CONFIG',
  'FLAME_DOCKER_PULL',
] as const;

/**
 * Clears the variables the backend reads, and restores them afterwards, so no test can reach
 * the machine's real daemon through the environment.
 */
export function isolateEnvironment(): void {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const key of ENV_KEYS) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
  });
  afterEach(() => {
    for (const key of ENV_KEYS) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });
}

/** Resolves when `check` holds, polling; fails after `ms`. */
export async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A backend on `fake`'s socket with the image, network and command the tests use. */
export function fakeBackend(fake: FakeEngine, options: DockerBackendOptions = {}): DockerBackend {
  return new DockerBackend({
    image: 'app',
    network: 'flame-net',
    socketPath: fake.socketPath,
    cmd: ['node', 'r.js'],
    ...options,
  });
}
