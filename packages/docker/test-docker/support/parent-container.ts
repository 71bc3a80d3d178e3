import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ErrorReport } from '../../../../test-apps/minimal/src/output';
import { docker, inspect } from './docker';

/** A line the minimal app's CLI prints: it always has an `event`. */
export interface AppEvent {
  event: string;
  [field: string]: unknown;
}

/** An error as the app reports it. */
export type ReportedError = ErrorReport;

/** The reply to one `serve` command, timed inside the parent. */
export type Reply<T = unknown> =
  | { ok: true; ms: number; value: T }
  | { ok: false; ms: number; error: ReportedError };

/** How to start a parent container. */
export interface ParentSpec {
  name: string;
  image: string;
  network: string;
  socket: string;
  /** Labels on the parent container, so cleanup finds it. */
  labels: Record<string, string>;
  env: Record<string, string>;
  /** Arguments of `node test-apps/minimal/dist/cli.js`. @default ['serve'] */
  cli?: string[];
}

/**
 * A parent container of the minimal app, run with `docker run -i --rm` from this process.
 * Its stdout lines with an `event` are the app's output; the others (pino) are kept as logs
 * and shown when a wait fails. In `serve` mode, `request()` sends one command and resolves
 * with its reply.
 */
export class ParentContainer {
  readonly name: string;
  readonly events: AppEvent[] = [];
  readonly logs: string[] = [];
  readonly exited: Promise<number | null>;
  /** Full id and hostname (the short id), known once the container answered. */
  id = '';
  hostname = '';

  private readonly child: ChildProcessWithoutNullStreams;
  private readonly listeners = new Set<() => void>();
  private nextId = 1;

  private constructor(spec: ParentSpec) {
    this.name = spec.name;
    const env = Object.entries(spec.env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    const labels = Object.entries(spec.labels).flatMap(([key, value]) => [
      '--label',
      `${key}=${value}`,
    ]);
    this.child = spawn('docker', [
      'run', '-i', '--rm', '--name', spec.name, '--network', spec.network,
      '-v', `${spec.socket}:/var/run/docker.sock`, ...labels, ...env,
      spec.image, 'node', 'test-apps/minimal/dist/cli.js', ...(spec.cli ?? ['serve']),
    ]);
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
    // Writing to a parent that is gone is a failed request, not a crash of the test run.
    this.child.stdin.on('error', () => undefined);
    this.follow();
  }

  /** Starts the container and waits for the app's first event (`ready` in serve mode). */
  static async start(spec: ParentSpec, firstEvent = 'ready', timeoutMs = 30_000) {
    const parent = new ParentContainer(spec);
    await parent.waitForEvent(firstEvent, timeoutMs);
    const info = inspect<{ Id: string; Config: { Hostname: string } }>(spec.name);
    if (info === undefined) throw new Error(`parent ${spec.name} is gone already`);
    parent.id = info.Id;
    parent.hostname = info.Config.Hostname;
    return parent;
  }

  /** Sends one serve command; resolves with its reply (or rejects after `timeoutMs`). */
  async request<T = unknown>(command: Record<string, unknown>, timeoutMs = 60_000) {
    const id = this.nextId++;
    this.child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    const reply = await this.waitForEvent('reply', timeoutMs, (event) => event.id === id);
    return reply as unknown as Reply<T>;
  }

  /** Calls a task on the pool `pool` (main, memory, broken) through the parent. */
  call<T = unknown>(task: string, args: unknown[] = [], fields: Record<string, unknown> = {}) {
    return this.request<T>({ op: 'call', task, args, ...fields });
  }

  /** Resolves with the first event named `event` (past or future) that passes `accept`. */
  waitForEvent(
    event: string,
    timeoutMs: number,
    accept: (line: AppEvent) => boolean = () => true,
  ): Promise<AppEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.find((line) => line.event === event && accept(line));
        if (found !== undefined) {
          finish();
          resolve(found);
        }
        return found !== undefined;
      };
      const timer = setTimeout(() => {
        finish();
        const why = `parent ${this.name}: no "${event}" within ${timeoutMs} ms`;
        reject(new Error(`${why}\n${this.tail()}`));
      }, timeoutMs);
      // A parent that exits without the event must not keep jest alive for the wait.
      timer.unref();
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      if (!check()) this.listeners.add(check);
    });
  }

  /**
   * Closes the pools (serve mode) and waits for the container to end; after `timeoutMs` it
   * gives up and leaves the container to the rig's forced cleanup. Safe to call again.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    const gone = this.exited.then(() => undefined);
    const limit = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    if (this.child.exitCode === null) {
      const closing = this.request({ op: 'close' }, timeoutMs).catch(() => undefined);
      await Promise.race([closing, gone, limit]);
    }
    this.child.stdin.end();
    await Promise.race([gone, limit]);
  }

  /** `docker kill`: the parent dies at once, with no chance to stop its runners. */
  kill(): void {
    docker('kill', this.name);
  }

  /** The last output lines, for failure messages. */
  tail(count = 30): string {
    const events = this.events.slice(-5).map((event) => JSON.stringify(event));
    const lines = [...this.logs.slice(-count), ...events];
    return lines.map((line) => `  ${line.slice(0, 400)}`).join('\n');
  }

  private follow(): void {
    const onLine = (line: string): void => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (typeof parsed === 'object' && parsed !== null && 'event' in parsed) {
        this.events.push(parsed as AppEvent);
        for (const listener of [...this.listeners]) listener();
      } else {
        this.logs.push(line);
      }
    };
    createInterface({ input: this.child.stdout }).on('line', onLine);
    createInterface({ input: this.child.stderr }).on('line', (line) => this.logs.push(line));
  }
}
