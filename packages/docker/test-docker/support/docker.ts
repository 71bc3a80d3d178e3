import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/** The checkout's root. */
export const REPO = path.resolve(__dirname, '../../../..');

const run = promisify(execFile);

/** Runs the docker CLI and returns its trimmed stdout; throws with its stderr on failure. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim();
}

/** The same without blocking the event loop, for samplers running beside other work. */
export async function dockerAsync(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { encoding: 'utf8' });
  return stdout.trim();
}

/** Ids (short) of the containers, running or not, that match every filter. */
export function containers(...filters: string[]): string[] {
  const flags = filters.flatMap((filter) => ['--filter', filter]);
  return lines(docker('ps', '-aq', ...flags));
}

/** `docker ps --format` over containers that match every filter. */
export async function listContainers(format: string, ...filters: string[]): Promise<string[]> {
  const flags = filters.flatMap((filter) => ['--filter', filter]);
  return lines(await dockerAsync('ps', '-a', '--format', format, ...flags));
}

/** `docker inspect` of one object, parsed; undefined when it does not exist. */
export function inspect<T = Record<string, unknown>>(nameOrId: string): T | undefined {
  try {
    return (JSON.parse(docker('inspect', nameOrId)) as T[])[0];
  } catch {
    return undefined;
  }
}

/** Force-removes containers, ignoring those already gone. */
export function removeContainers(ids: readonly string[]): void {
  if (ids.length === 0) return;
  try {
    docker('rm', '-f', ...ids);
  } catch {
    // Some were gone already (AutoRemove raced us); the rest were removed.
  }
}

/** The host's Docker socket, found the way the app's scripts find it (scripts/lib). */
export function hostSocket(): string {
  const helpers = JSON.stringify(path.join(REPO, 'scripts/lib/docker.sh'));
  const script = `source ${helpers}; host_docker_socket`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trim();
}

/** Polls `probe` every `every` ms until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  every = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms in vain for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}
