import { hostname } from 'node:os';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import { runWithContext } from './context';
import { FlameError } from './errors';
import { COOKIE_ENV, decodeParent, PARENT_ENV, type ParentDescriptor } from './parent-env';
import { TaskLoader, type TaskFunction } from './task-loader';
import { Channel } from './wire/channel';
import { offerHandshake } from './wire/handshake';
import { HANDSHAKE_MAX_FRAME, type CallMessage, type ParentMessage } from './wire/protocol';
import { toWireError } from './wire-error';
import { REPL_ENV, startRunnerRepl } from './runner-repl';
import { STOPPING_MESSAGE } from './runner-log';
import { timerFor } from './timers';

const RECONNECT_DELAY = 100;
const DEADLINE_SLACK = 1_000;

// Pino is a fifth of the runner's start-up (~17 ms of module loading). Most
// runners never write a line at the default level, so it is loaded on the first line that
// passes the level.
const LEVEL_VALUES: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

function lazyLogger(make: () => Logger, level: string): Logger {
  let real: Logger | undefined;
  const threshold = LEVEL_VALUES[level] ?? 30;
  const noop = () => undefined;
  return new Proxy({} as Logger, {
    get(_target, property) {
      if (real === undefined) {
        if (typeof property === 'string' && (LEVEL_VALUES[property] ?? Infinity) < threshold)
          return noop;
        if (property === 'flush') return noop;
        if (property === 'level') return level;
        real = make();
      }
      const value = (real as unknown as Record<string | symbol, unknown>)[property];
      return typeof value === 'function' ? value.bind(real) : value;
    },
  });
}

// The AbortController is made only when a task reads ctx.signal (or the call is
// aborted first); most tasks never look at it, and making one costs more than a tiny call.
class RunningCall {
  timer: NodeJS.Timeout | undefined;
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#controller !== undefined) this.#controller.abort(reason);
    else if (!this.#aborted) {
      this.#aborted = true;
      this.#reason = reason;
    }
  }
}

// One shape for every call's context, the signal a prototype getter.
class TaskContext {
  readonly task: string;
  readonly runnerId: string;
  readonly pool: string;
  readonly deadline: number;
  readonly #running: RunningCall;

  constructor(running: RunningCall, task: string, parent: ParentDescriptor, deadline: number) {
    this.#running = running;
    this.task = task;
    this.runnerId = parent.runnerId;
    this.pool = parent.pool;
    this.deadline = deadline;
  }

  get signal(): AbortSignal {
    return this.#running.signal;
  }
}

/**
 * The runner agent: dials the parent, proves the cookie, then runs the calls it is sent
 * until it is told to stop or loses the parent. It never outlives its parent: a closed
 * connection, a parent that cannot be reached within `connectTimeout`, or a stop message
 * all end the process, after a last log line saying why.
 */
export class RunnerAgent {
  readonly #parent: ParentDescriptor;
  readonly #cookie: string;
  readonly #log: Logger;
  readonly #tasks: TaskLoader;
  readonly #running = new Map<number, RunningCall>();
  #channel: Channel | undefined;
  #stopping = false;

  constructor(parent: ParentDescriptor, cookie: string, log: Logger) {
    this.#parent = parent;
    this.#cookie = cookie;
    this.#log = log;
    this.#tasks = new TaskLoader(parent.taskRoot);
  }

  /** Reads `FLAME_PARENT` and `FLAME_COOKIE` and builds an agent with a synchronous log. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): RunnerAgent {
    const parent = decodeParent(env[PARENT_ENV]);
    const cookie = env[COOKIE_ENV];
    if (!cookie) throw new FlameError('FLAME_ERR_CONFIG', `${COOKIE_ENV} is not set`);

    // A synchronous destination, so the line saying why the runner ended is written
    // before the process exits.
    const log = lazyLogger(() => {
      const pino = require('pino') as typeof import('pino');
      return pino(
        {
          level: parent.logLevel,
          base: {
            pid: process.pid,
            hostname: hostname(),
            runnerId: parent.runnerId,
            pool: parent.pool,
          },
        },
        pino.destination({ dest: 1, sync: true }),
      );
    }, parent.logLevel);
    return new RunnerAgent(parent, cookie, log);
  }

  get log(): Logger {
    return this.#log;
  }

  /** Connects and serves. Resolves once connected; the process ends through `stop`. */
  async start(): Promise<void> {
    const started = Date.now();
    const channel = await this.#connect();
    this.#channel = channel;
    channel.on('close', (error) => {
      this.stop(error ? `parent connection lost: ${error.message}` : 'parent connection lost');
    });

    await offerHandshake(
      channel,
      this.#cookie,
      this.#parent.runnerId,
      this.#parent.handshakeTimeout,
    );
    channel.setMaxFrame(this.#parent.maxFrame);
    channel.setHandler((header, body) => this.#onMessage(header as ParentMessage, body));
    channel.send({ t: 'ready', pid: process.pid, hostname: hostname(), node: process.version });
    this.#log.debug({ ms: Date.now() - started, root: this.#tasks.root }, 'runner connected');

    const repl = process.env[REPL_ENV];
    if (repl) {
      const { runnerId, pool } = this.#parent;
      startRunnerRepl(
        repl,
        runnerId,
        { runner: { runnerId, pool, running: () => this.#running.size } },
        this.#log,
      );
    }
  }

  async #connect(): Promise<Channel> {
    const { host, port, connectTimeout } = this.#parent;
    const deadline = Date.now() + connectTimeout;

    for (;;) {
      try {
        const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
          const attempt = connect({ host, port });
          attempt.once('connect', () => {
            attempt.off('error', reject);
            resolve(attempt);
          });
          attempt.once('error', reject);
        });
        socket.setKeepAlive(true, 5_000);
        return new Channel(socket, HANDSHAKE_MAX_FRAME);
      } catch (error) {
        if (Date.now() + RECONNECT_DELAY > deadline) {
          throw new FlameError(
            'FLAME_ERR_CONNECT',
            `could not reach the parent at ${host}:${port} within ${connectTimeout} ms: ${(error as Error).message}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY));
      }
    }
  }

  #onMessage(message: ParentMessage, body: unknown): void {
    switch (message.t) {
      case 'call':
        this.#run(message, body);
        return;
      case 'cancel':
        this.#running
          .get(message.id)
          ?.abort(new Error(`call cancelled by the parent: ${message.reason}`));
        return;
      case 'stop':
        this.stop(message.reason);
        return;
      default:
        this.#log.warn({ message }, 'unknown message from parent ignored');
    }
  }

  // A warm call of a synchronous task runs and replies in the same tick as its
  // frame arrived: no await, hence no promise, when the function is cached and returns a value.
  #run(call: CallMessage, args: unknown): void {
    const running = new RunningCall();
    // The parent aborts a call at its deadline with a cancel message. This timer is only a
    // backstop for a cancel that never comes, so it leaves the parent time to send it and
    // never races the parent's own timeout.
    running.timer = timerFor(call.timeout + DEADLINE_SLACK, () =>
      running.abort(new Error('call timed out: its deadline passed')),
    );
    this.#running.set(call.id, running);

    const fn = this.#tasks.cached(call.task);
    if (fn !== undefined) {
      this.#invoke(call, running, fn, args);
      return;
    }
    this.#tasks.load(call.task).then(
      (loaded) => this.#invoke(call, running, loaded, args),
      (error: unknown) => this.#finish(call, running, new FlameOriginError(error), true),
    );
  }

  #invoke(call: CallMessage, running: RunningCall, fn: TaskFunction, args: unknown): void {
    const ctx = new TaskContext(running, call.task, this.#parent, Date.now() + call.timeout);
    let result: unknown;
    try {
      if (!Array.isArray(args))
        throw new FlameOriginError(new Error('call arguments must be an array'));
      result = runWithContext(ctx, () => {
        const value = fn(...args);
        if (call.kind === 'child') this.#channel?.send({ t: 'started', id: call.id });
        return value;
      });
    } catch (error) {
      this.#finish(call, running, error, true);
      return;
    }
    if (
      result !== null &&
      (typeof result === 'object' || typeof result === 'function') &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      Promise.resolve(result).then(
        (value) => this.#finish(call, running, value, false),
        (error: unknown) => this.#finish(call, running, error, true),
      );
    } else {
      this.#finish(call, running, result, false);
    }
  }

  #finish(call: CallMessage, running: RunningCall, outcome: unknown, failed: boolean): void {
    clearTimeout(running.timer);
    this.#running.delete(call.id);
    if (failed) this.#replyError(call, outcome);
    else this.#reply(call, outcome);
  }

  #reply(call: CallMessage, value: unknown): void {
    const channel = this.#channel;
    if (channel === undefined || channel.closed) return;
    try {
      const body = channel.encode(value, `the result of ${call.task}`);
      channel.send({ t: 'result', id: call.id }, body);
    } catch (error) {
      // The value could not be encoded or is over the frame limit: the caller gets that
      // error instead, and the runner carries on.
      this.#replyError(call, new FlameOriginError(error));
      return;
    }
    this.#applyBackpressure(channel);
  }

  #replyError(call: CallMessage, error: unknown): void {
    const channel = this.#channel;
    if (channel === undefined || channel.closed) return;
    const flame = error instanceof FlameOriginError;
    const cause = flame ? error.cause : error;
    if (!flame) this.#log.debug({ task: call.task, err: cause }, 'task threw');
    channel.send({
      t: 'error',
      id: call.id,
      origin: flame ? 'flame' : 'task',
      error: toWireError(cause),
    });
    this.#applyBackpressure(channel);
  }

  // While the parent is not reading, stop reading new calls from it, so results do not
  // pile up in this process without bound.
  #applyBackpressure(channel: Channel): void {
    if (channel.writable) return;
    channel.socket.pause();
    void channel.whenWritable().then(() => channel.socket.resume());
  }

  /** Aborts what runs, logs why, and ends the process. Safe to call more than once. */
  stop(reason: string, exitCode = 0): void {
    if (this.#stopping) return;
    this.#stopping = true;

    for (const running of this.#running.values()) {
      clearTimeout(running.timer);
      running.abort(new Error(`${STOPPING_MESSAGE}${reason}`));
    }
    // The reason is in the message too: a log tail keeps messages, and a caller's
    // RunnerExitedError quotes this line (`docker stop` ends a runner with exit code 0).
    this.#log.info({ reason, running: this.#running.size }, `${STOPPING_MESSAGE}${reason}`);
    this.#log.flush();

    const channel = this.#channel;
    if (channel === undefined || channel.closed) {
      process.exit(exitCode);
    }
    // Let queued frames go out, but never wait long: the parent may be gone.
    channel.socket.once('close', () => process.exit(exitCode));
    channel.end();
    setTimeout(() => process.exit(exitCode), 1_000).unref();
  }
}

/** Marks an error as raised by flame-node on the runner rather than thrown by the task. */
class FlameOriginError extends Error {
  constructor(cause: unknown) {
    super('flame error', { cause });
  }
}
