import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { Backend, RunnerInstance, RunnerLaunch } from './backend';
import { BootError, type RunnerExitInfo } from './errors';
import { relayRunnerLine, type OutputStream } from './runner-log';
import { runnerScript } from './runner-script';

/** Options of `new LocalBackend(options)`. */
export interface LocalBackendOptions {
  /** Extra environment for runner processes, over this process's own. */
  env?: Record<string, string>;
  /** Node flags for runner processes, e.g. `['--max-old-space-size=512']`. @default [] */
  execArgv?: string[];
  /** Working directory of runner processes. @default process.cwd() */
  cwd?: string;
}

const LOG_TAIL_LINES = 30;
const LOG_DRAIN_MS = 200;

/**
 * The embedded default: each runner is a child process of this one, running the runner
 * agent and dialing back on 127.0.0.1. Its log lines join this process's log.
 */
export class LocalBackend implements Backend {
  readonly kind = 'local';
  readonly #options: LocalBackendOptions;

  constructor(options: LocalBackendOptions = {}) {
    for (const key of Object.keys(options)) {
      if (!['env', 'execArgv', 'cwd'].includes(key)) {
        throw new TypeError(`options.${key} is not a LocalBackend option`);
      }
    }
    this.#options = options;
  }

  listenHost(): string {
    return '127.0.0.1';
  }

  parentHost(): string {
    return '127.0.0.1';
  }

  async start(launch: RunnerLaunch): Promise<RunnerInstance> {
    const child = spawn(process.execPath, [...(this.#options.execArgv ?? []), runnerScript()], {
      cwd: this.#options.cwd ?? process.cwd(),
      env: { ...process.env, ...this.#options.env, ...launch.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) =>
        reject(new BootError(launch.runnerId, error.message, { cause: error })),
      );
    });
    return new LocalRunner(child, launch.logger);
  }
}

class LocalRunner implements RunnerInstance {
  readonly backendId: string;
  readonly exited: Promise<RunnerExitInfo>;
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  #done = false;
  #stopping: Promise<void> | undefined;

  constructor(child: ChildProcess, log: Logger) {
    this.#child = child;
    this.backendId = String(child.pid);
    forwardLines(child.stdout!, (line) => this.#keep(line, log, 'stdout'));
    forwardLines(child.stderr!, (line) => this.#keep(line, log, 'stderr'));

    // 'close' comes after both pipes have ended, so the last log line is in by then; but a
    // grandchild may hold the pipes open for long, so the exit is reported at most
    // LOG_DRAIN_MS after 'exit' whatever the pipes do.
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const report = () => {
          if (this.#done) return;
          this.#done = true;
          clearTimeout(timer);
          resolve({ code, signal, logTail: [...this.#tail] });
        };
        const timer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          report();
        }, LOG_DRAIN_MS);
        child.once('close', report);
      });
    });
  }

  stop(graceMs: number): Promise<void> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#done) return;
    // The agent normally leaves on its own once told over the wire; the signals are for
    // one that does not (frozen, or never connected).
    const term = setTimeout(() => this.#child.kill('SIGTERM'), Math.min(graceMs / 2, 1_000));
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  #keep(line: string, log: Logger, stream: OutputStream): void {
    this.#tail.push(relayRunnerLine(log, stream, line));
    if (this.#tail.length > LOG_TAIL_LINES) this.#tail.shift();
  }
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}
