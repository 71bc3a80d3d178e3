import {
  execFile,
  execFileSync,
  type ExecFileSyncOptionsWithStringEncoding,
} from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';

const execFileAsync = promisify(execFile);

export const ROOT = path.resolve(__dirname, '../../..');

/** Runs docker and returns its trimmed output; throws with its stderr when it fails. */
export function docker(...args: string[]): string {
  const options: ExecFileSyncOptionsWithStringEncoding = {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  };
  return execFileSync('docker', args, options).trim();
}

export function lines(text: string): string[] {
  return text.split('\n').filter(Boolean);
}

/** Names of containers (stopped ones too) matching every filter. */
export function containerNames(...filters: string[]): string[] {
  const args = filters.flatMap((filter) => ['--filter', filter]);
  return lines(docker('ps', '-a', '--format', '{{.Names}}', ...args));
}

export function networkExists(name: string): boolean {
  return lines(docker('network', 'ls', '--format', '{{.Name}}')).includes(name);
}

/** Runs a script or tool with extra environment; throws with its output when it fails. */
export function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeout = 240_000,
): string {
  try {
    return execFileSync(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    const output = `${stdout ?? ''}\n${stderr ?? ''}`;
    throw new Error(`${command} ${args.join(' ')} failed:\n${output}`, { cause: error });
  }
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeout` ms. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeout = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const reason = last ? `: ${String(last)}` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Waits until `GET /healthz` answers 200. */
export function waitForApp(baseUrl: string, timeout = 30_000): Promise<true> {
  // A port that docker-proxy publishes can take a connection before the app listens behind
  // it and then never answer, so each try gets a short deadline of its own.
  const healthy = async (): Promise<true | undefined> => {
    const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? true : undefined;
  };
  return waitFor(`${baseUrl}/healthz`, healthy, timeout);
}

/**
 * Samples the runner containers of one pool (by label) every ~150 ms while the app runs: the
 * most seen at once, and every name seen.
 */
export class RunnerSampler {
  peak = 0;
  samples = 0;
  readonly errors: string[] = [];
  readonly names = new Set<string>();
  #running = true;
  readonly #loop: Promise<void>;

  constructor(pool: string) {
    this.#loop = this.#sample(pool);
  }

  async #sample(pool: string): Promise<void> {
    const filter = `label=flame-node.pool=${pool}`;
    const args = ['ps', '-a', '--format', '{{.Names}}', '--filter', filter];
    while (this.#running) {
      try {
        const { stdout } = await execFileAsync('docker', args, { encoding: 'utf8' });
        const names = lines(stdout);
        names.forEach((name) => this.names.add(name));
        this.peak = Math.max(this.peak, names.length);
        this.samples += 1;
      } catch (error) {
        this.errors.push(String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Headless Debian Chromium with a fresh profile. */
export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'web-test-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1024, height: 760 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
