import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Backend } from './backend';
import { CallQueue, type CallState } from './call-state';
import { getDefaultBackend } from './default-backend';
import {
  BootError,
  CallAbortedError,
  CallTimeoutError,
  describeExit,
  FlameError,
  FrameTooLargeError,
  PoolClosedError,
  RunnerExitedError,
  type RunnerExitInfo,
} from './errors';
import { newRunnerId, PARENT_ID, parentCookie } from './identity';
import { ParentListener } from './listener';
import { LocalBackend } from './local-backend';
import { resolveLogger } from './logger';
import { duration, type PoolEvent, type PoolHook, type ResolvedPoolOptions } from './options';
import { COOKIE_ENV, encodeParent, PARENT_ENV } from './parent-env';
import { bootRunner, type BootedRunner } from './runner-boot';
import type { LinkSink } from './runner-link';
import { Deadlines } from './deadlines';
import { bootingSlot, type RunnerSlot } from './runner-slot';
import { RunnerTable } from './runner-table';
import { parseTaskName } from './task-name';
import { timerFor, withinMs } from './timers';
import { Codec } from './wire/codec';
import type { CallKind } from './wire/protocol';

/** Counts a pool reports; see `Pool.stats()`. */
export interface PoolStats {
  /** Runners connected and serving (or ready to). */
  runners: number;
  /** Runners starting, not yet connected. */
  booting: number;
  /** Calls running on runners. */
  busy: number;
  /** Calls waiting for a runner. */
  queued: number;
}

export interface SubmitOptions {
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  /**
   * For children: aborting it aborts the task's signal on the runner but keeps waiting
   * for the function to return (a queued call is dropped with `CallAbortedError`).
   */
  stopSignal?: AbortSignal | undefined;
}

// How long a lost runner's calls wait for the backend to report the exit status, so the
// error can say how it ended (killed for memory, exit code...). Usually it is already known.
const EXIT_INFO_WAIT = 3_000;
const MIN_RETRY_DELAYS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
// An upper bound on a call header's encoded size, less the task name (measured: 58 bytes).
const CALL_HEADER_BYTES = 96;
// A runner up this long (ms) counts as a good boot for the `min` boots' back-off.
const STABLE_AFTER = 5_000;
const STOP_GRACE_MIN = 1_000;
const CANCEL_OUTLIVED = 'a cancelled task outlived cancelGrace';
const NO_BYTES = Buffer.alloc(0);

/**
 * The pool's engine: the queue of calls, the runner slots and their lifecycle. `Pool` is
 * the public face of it.
 */
export class PoolEngine {
  readonly options: ResolvedPoolOptions;
  readonly #backend: Backend;
  readonly #log: Logger;
  readonly #codec = new Codec();
  readonly #queue = new CallQueue();
  readonly #checkedTasks = new Set<string>();
  readonly #deadlines = new Deadlines<CallState>((call) => this.#giveUp(call, 'timeout'));
  // What a runner link reports, one object for all calls instead of a listener
  // and two closures per call.
  // A reply that comes at or after the deadline is a timeout all the same: the caller's
  // timer and the reply race, and the caller was promised a CallTimeoutError.
  readonly #sink: LinkSink = {
    started: (call) => {
      if (!call.done) call.started?.();
    },
    result: (call, value) => {
      this.#answered(call);
      if (performance.now() >= call.deadline) this.#settle(call, this.#timeoutError(call));
      else this.#settle(call, undefined, value);
      this.#release(call.slot!);
    },
    error: (call, error) => {
      this.#answered(call);
      this.#settle(call, performance.now() >= call.deadline ? this.#timeoutError(call) : error);
      this.#release(call.slot!);
    },
  };
  readonly #slots: RunnerTable;
  /** Runners out of `#slots` whose backend is still stopping them; close() waits for them. */
  readonly #leaving = new Set<RunnerSlot>();
  readonly #taskRoot: string;
  #listening: Promise<ParentListener> | undefined;
  #busy = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #cutGrace: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  #minFailures = 0;
  #minRetry: NodeJS.Timeout | undefined;

  constructor(options: ResolvedPoolOptions) {
    this.options = options;
    this.#backend = options.backend ?? getDefaultBackend() ?? new LocalBackend();
    this.#log = resolveLogger(options.logger).child({ pool: options.name });
    this.#taskRoot = path.resolve(options.taskRoot);
    this.#slots = new RunnerTable(options.maxConcurrency, options.singleUse);
    if (options.min > 0) queueMicrotask(() => this.#pump());
  }

  get logger(): Logger {
    return this.#log;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): PoolStats {
    return {
      runners: this.#slots.count('ready'),
      booting: this.#slots.count('booting'),
      busy: this.#busy,
      queued: this.#queue.size,
    };
  }

  /** Resolves once nothing is queued or running (at once if that is already so). */
  onIdle(): Promise<void> {
    if (this.#busy === 0 && this.#queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Queues a call. Checks the task name and encodes the arguments first, so bad input
   * throws before a runner is started or anything is sent.
   */
  submit(
    task: string,
    args: unknown[],
    kind: CallKind,
    options: SubmitOptions,
    started?: () => void,
  ): Promise<unknown> {
    if (this.#closed) throw new PoolClosedError(this.options.name);
    // A name checked once is not checked again (bounded, names are few).
    if (!this.#checkedTasks.has(task)) {
      parseTaskName(task);
      if (this.#checkedTasks.size < 1024) this.#checkedTasks.add(task);
    }
    if (!Array.isArray(args)) {
      throw new TypeError(
        `args must be an array of arguments for ${task}, received ${typeof args}`,
      );
    }
    const timeout =
      options.timeout === undefined
        ? kind === 'child'
          ? Infinity
          : this.options.timeout
        : duration(options.timeout, 'timeout', true);
    const body = this.#codec.encode(args, `the arguments of ${task}`);
    // The frame also carries the call's header: the arguments must leave room for it.
    const framed = body.length + CALL_HEADER_BYTES + Buffer.byteLength(task);
    if (framed > this.options.maxFrameSize) {
      throw FrameTooLargeError.describe(
        `the arguments of ${task}`,
        framed,
        this.options.maxFrameSize,
      );
    }
    const signal = options.signal;
    if (signal?.aborted) throw new CallAbortedError(task, signal.reason);

    return new Promise((resolve, reject) => {
      const call: CallState = {
        task,
        kind,
        body,
        timeout,
        signal,
        resolve,
        reject,
        started,
        deadline: performance.now() + timeout,
        done: false,
        queued: false,
        slot: undefined,
        id: 0,
        onAbort: undefined,
        cancelTimer: undefined,
        lane: undefined,
        prevExpiring: undefined,
        nextExpiring: undefined,
      };
      this.#deadlines.add(call, timeout);
      if (signal !== undefined) {
        call.onAbort = () => this.#giveUp(call, 'aborted');
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      options.stopSignal?.addEventListener('abort', () => this.#stopChild(call), { once: true });
      this.#queue.push(call);
      this.#pump();
    });
  }

  /** Graceful: refuses new work, lets calls in flight finish within `grace`, stops runners. */
  close(grace = this.options.shutdownTimeout): Promise<void> {
    this.#closing ??= this.#shutdown(grace);
    return this.#closing;
  }

  /** Forced: like `close()`, but aborts calls in flight at once. */
  terminate(): Promise<void> {
    const closing = this.close(0);
    this.#cutGrace?.();
    return closing;
  }

  // ---- calls ------------------------------------------------------------------------

  #settle(call: CallState, error: Error | undefined, value?: unknown): void {
    if (call.done) return;
    call.done = true;
    this.#deadlines.remove(call);
    if (call.onAbort !== undefined) call.signal?.removeEventListener('abort', call.onAbort);
    this.#queue.forget(call);
    if (error === undefined) call.resolve(value);
    else call.reject(error);
    this.#checkIdle();
  }

  // The caller stops waiting. A queued call simply leaves the queue; a running one is
  // aborted on its runner, whose slot stays taken until the runner answers, so a task
  // that ignores its signal cannot push the runner past maxConcurrency.
  #giveUp(call: CallState, why: 'timeout' | 'aborted'): void {
    if (call.done) return;
    const slot = call.slot;
    const error =
      why === 'aborted'
        ? new CallAbortedError(call.task, call.signal?.reason)
        : this.#timeoutError(call);
    this.#settle(call, error);
    if (slot !== undefined) this.#cancelRunning(call, slot, why);
  }

  #stopChild(call: CallState): void {
    if (call.done) return;
    const slot = call.slot;
    if (slot === undefined)
      this.#settle(call, new CallAbortedError(call.task, 'stopped before it started'));
    else this.#cancelRunning(call, slot, 'stopped');
  }

  // Aborts a running call's signal on its runner and gives the task `cancelGrace` to end.
  // One that outlives it has its runner replaced, so it cannot hold a place for ever.
  #cancelRunning(call: CallState, slot: RunnerSlot, why: 'timeout' | 'aborted' | 'stopped'): void {
    if (slot.link === undefined || slot.state === 'gone') return;
    slot.link.cancel(call.id, why);
    const grace = this.options.cancelGrace;
    if (!Number.isFinite(grace) || slot.state !== 'ready' || call.cancelTimer !== undefined) return;
    slot.abandoned++;
    call.cancelTimer = setTimeout(() => this.#outlived(call, slot), grace);
    call.cancelTimer.unref();
  }

  // The runner answered a call that was cancelled: the task did end.
  #answered(call: CallState): void {
    if (call.cancelTimer === undefined) return;
    clearTimeout(call.cancelTimer);
    call.cancelTimer = undefined;
    call.slot!.abandoned--;
  }

  #outlived(call: CallState, slot: RunnerSlot): void {
    if (slot.state !== 'ready' || slot.draining) return;
    slot.draining = true;
    this.#log.warn(
      { runnerId: slot.id, task: call.task, cancelGrace: this.options.cancelGrace },
      'a cancelled task is still running after cancelGrace; replacing its runner',
    );
    this.#retireIfDrained(slot);
    this.#pump();
  }

  // A draining runner stops once only cancelled calls are left on it; they end with it.
  #retireIfDrained(slot: RunnerSlot): void {
    if (slot.draining && slot.active === slot.abandoned) {
      this.#retire(slot, CANCEL_OUTLIVED, STOP_GRACE_MIN);
    }
  }

  #timeoutError(call: CallState): CallTimeoutError {
    const stage = call.slot ? 'run' : this.#slots.count('booting') > 0 ? 'boot' : 'queue';
    return new CallTimeoutError(call.task, call.timeout, stage);
  }

  #pump(): void {
    if (this.#closed) return;
    for (let call = this.#queue.peek(); call !== undefined; call = this.#queue.peek()) {
      // A call whose deadline passed while the event loop was busy never runs.
      if (call.deadline <= performance.now()) {
        this.#giveUp(call, 'timeout');
        continue;
      }
      const slot = this.#slots.pick();
      if (slot === undefined) break;
      this.#queue.shift();
      this.#dispatch(call, slot);
    }
    this.#grow();
  }

  #dispatch(call: CallState, slot: RunnerSlot): void {
    slot.active++;
    slot.used = true;
    this.#busy++;
    call.slot = slot;
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }

    // Whole milliseconds. A fractional timeout gives the runner's setTimeout a
    // duration of its own, so every call built a new timer list, and it costs a float64 on
    // the wire.
    const remaining = Math.max(1, Math.ceil(call.deadline - performance.now()));
    try {
      call.id = slot.link!.dispatch(call.kind, call.body, remaining, call);
    } catch (error) {
      // Nothing was sent (the frame was refused before any write): this call fails alone.
      this.#settle(call, error as Error);
      this.#release(slot);
      return;
    }
    // The connection holds the bytes until they are written; the call needs them no more.
    call.body = NO_BYTES;
  }

  #release(slot: RunnerSlot): void {
    slot.active--;
    this.#busy--;
    if (performance.now() - slot.readyAt >= STABLE_AFTER) this.#minFailures = 0;
    if (slot.state === 'ready') {
      if (slot.draining) this.#retireIfDrained(slot);
      else if (this.options.singleUse) this.#retire(slot, 'single use: call done');
      else if (slot.active === 0) this.#armIdle(slot);
    }
    this.#checkIdle();
    this.#pump();
  }

  #checkIdle(): void {
    if (this.#busy !== 0 || this.#queue.size !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- growing ----------------------------------------------------------------------

  // Start runners while queued calls exceed what booting runners will take, and while
  // fewer than `min` are alive; never past `max` alive (stopping ones count until gone).
  #grow(): void {
    if (this.#closed) return;
    const { max, min } = this.options;
    const perRunner = this.#slots.perRunner;
    let booting = this.#slots.count('booting');
    let live = this.#slots.live();

    while (!this.#closed && this.#slots.size < max && this.#queue.size > booting * perRunner) {
      this.#boot();
      booting++;
      live++;
    }
    while (!this.#closed && this.#slots.size < max && live < min && this.#minRetry === undefined) {
      this.#boot();
      live++;
    }
  }

  #boot(): void {
    const slot = bootingSlot(newRunnerId(this.options.name));
    slot.bootDeadline = performance.now() + this.options.bootTimeout;
    this.#slots.add(slot);
    this.#hook('onGrowStart', slot.id);
    void this.#runBoot(slot);
  }

  async #runBoot(slot: RunnerSlot): Promise<void> {
    const started = performance.now();
    const log = this.#log.child({ runnerId: slot.id });
    log.debug('runner booting');

    let booted: BootedRunner;
    try {
      booted = await bootRunner(slot, {
        backend: this.#backend,
        pool: this.options.name,
        bootTimeout: this.options.bootTimeout,
        logger: log,
        listening: () => this.#ensureListening(),
        env: (port) => this.#runnerEnv(slot.id, port, log),
        sink: this.#sink,
      });
    } catch (error) {
      this.#bootFailed(slot, error, log, started);
      return;
    }

    const { instance, link, info } = booted;
    slot.state = 'ready';
    link.channel.on('close', () => void this.#lost(slot));
    link.channel.socket.on('drain', () => this.#pump());
    instance.exited.then(() => void this.#lost(slot));
    slot.readyAt = performance.now();
    const ms = Math.round(performance.now() - started);
    log.info({ ms, backendId: instance.backendId, host: info.hostname }, 'runner ready');
    this.#hook('onGrowEnd', slot.id);

    if (this.#closed) {
      this.#retire(slot, 'pool closed');
      return;
    }
    this.#pump();
    if (slot.active === 0) this.#armIdle(slot);
  }

  #runnerEnv(runnerId: string, port: number, log: Logger): Record<string, string> {
    // Runners write at least their info lines to their own output, so the line saying why a
    // runner ended is in `docker logs` even when the parent's log is quieter; the parent
    // re-logs those lines at their own level, so its log stays as quiet as it was asked.
    const level = log.levelVal > 30 ? 'info' : log.level;
    const parent = encodeParent({
      host: this.#backend.parentHost(),
      port,
      runnerId,
      pool: this.options.name,
      taskRoot: this.#taskRoot,
      maxFrame: this.options.maxFrameSize,
      connectTimeout: this.options.bootTimeout,
      handshakeTimeout: this.options.handshakeTimeout,
      logLevel: level,
    });
    return { [PARENT_ENV]: parent, [COOKIE_ENV]: parentCookie() };
  }

  #ensureListening(): Promise<ParentListener> {
    this.#listening ??= (async () => {
      await this.#backend.init?.({
        pool: this.options.name,
        parentId: PARENT_ID,
        logger: this.#log,
        timeoutMs: this.options.bootTimeout,
      });
      const listener = new ParentListener({
        host: this.#backend.listenHost(),
        cookie: parentCookie(),
        handshakeTimeout: this.options.handshakeTimeout,
        maxFrame: this.options.maxFrameSize,
        logger: this.#log,
      });
      await listener.listen();
      this.#log.debug(
        { port: listener.port, backend: this.#backend.kind },
        'listening for runners',
      );
      return listener;
    })();
    // A failed start (say, a backend misconfigured) is tried again by the next boot.
    this.#listening.catch(() => (this.#listening = undefined));
    return this.#listening;
  }

  #bootFailed(slot: RunnerSlot, cause: unknown, log: Logger, started: number): void {
    const error =
      cause instanceof FlameError
        ? cause
        : new BootError(slot.id, cause instanceof Error ? cause.message : String(cause), { cause });
    slot.state = 'gone';
    this.#slots.remove(slot);
    slot.link?.channel.destroy();
    // A backend that ignores the abort may still finish starting: what it started is
    // stopped then, and close() waits for that, but no longer than the boot's own deadline
    // (a start() that never settles must not hold close() up).
    let stopped: Promise<unknown> = Promise.resolve();
    if (slot.instance !== undefined) {
      stopped = slot.instance.stop(0);
    } else if (slot.starting !== undefined) {
      const late = slot.starting.then(
        (started) => started.stop(0),
        () => undefined,
      );
      stopped = withinMs(late, Math.max(0, slot.bootDeadline - performance.now()));
    }
    this.#leave(
      slot,
      stopped.then(() => undefined),
    );

    if (!(error instanceof PoolClosedError)) {
      log.warn(
        { err: error, ms: Math.round(performance.now() - started) },
        'runner failed to boot',
      );
    }
    this.#hook('onGrowEnd', slot.id, error);
    this.#failBeyondCapacity(error);
    if (this.#slots.live() < this.options.min && !this.#closed) this.#delayMinBoots();
    this.#pump();
  }

  // A failed boot fails the queued calls that no other runner will take: those beyond
  // the room of ready runners and of the boots still under way. Without this, a broken
  // image would be booted again and again for the same callers until their deadlines.
  #failBeyondCapacity(error: Error): void {
    const room = this.#slots.room();
    while (this.#queue.size > room) this.#settle(this.#queue.shift()!, error);
  }

  #delayMinBoots(): void {
    const delay = MIN_RETRY_DELAYS[Math.min(this.#minFailures++, MIN_RETRY_DELAYS.length - 1)]!;
    if (this.#minRetry !== undefined) return;
    this.#minRetry = setTimeout(() => {
      this.#minRetry = undefined;
      this.#pump();
    }, delay);
    this.#minRetry.unref();
  }

  // ---- shrinking --------------------------------------------------------------------

  #armIdle(slot: RunnerSlot): void {
    const after = this.options.idleShutdownAfter;
    if (slot.idleTimer !== undefined || !Number.isFinite(after)) return;
    slot.idleTimer = timerFor(after, () => {
      slot.idleTimer = undefined;
      if (slot.state === 'ready' && slot.active === 0 && this.#slots.live() > this.options.min) {
        this.#retire(slot, 'idle');
      }
    });
    slot.idleTimer?.unref();
  }

  /** Tells a runner to leave and makes sure it does; `#lost` then takes it out. */
  #retire(slot: RunnerSlot, reason: string, graceMs = this.options.shutdownTimeout): void {
    if (slot.state !== 'ready') return;
    slot.state = 'stopping';
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    this.#log.debug({ runnerId: slot.id, reason }, 'runner stopping');
    slot.link!.stop(reason);
    void slot.instance!.stop(graceMs).finally(() => void this.#lost(slot));
  }

  // The runner's connection closed or its process ended, whichever came first. Its calls
  // fail with RunnerExitedError (never a timeout), and the pool goes on without it.
  async #lost(slot: RunnerSlot): Promise<void> {
    if (slot.state === 'gone') return;
    const expected = slot.state === 'stopping';
    slot.state = 'gone';
    if (slot.idleTimer !== undefined) clearTimeout(slot.idleTimer);
    this.#slots.remove(slot);
    const link = slot.link!;
    link.channel.destroy();
    // Leaving at once, so a close() from now on waits for this runner and its calls.
    this.#leave(slot, slot.instance!.stop(this.options.shutdownTimeout));
    // A runner that dies soon after it came up is likely to do it again: boots that keep
    // `min` up back off instead of looping.
    if (!expected && performance.now() - slot.readyAt < STABLE_AFTER) this.#delayMinBoots();

    let exit: RunnerExitInfo = { reason: 'connection lost' };
    if (link.pending > 0 || !expected) {
      exit = await Promise.race([
        slot.instance!.exited,
        new Promise<RunnerExitInfo>((resolve) =>
          setTimeout(() => resolve({ reason: 'connection lost' }), EXIT_INFO_WAIT).unref(),
        ),
      ]);
    }
    if (link.pending > 0) {
      // A runner replaced for a cancelled task that would not end says so to its callers.
      if (slot.draining) exit = { ...exit, reason: `stopped: ${CANCEL_OUTLIVED}` };
      link.failAll(new RunnerExitedError(slot.id, exit));
    }

    const fields = { runnerId: slot.id, exit: describeExit(exit) };
    if (expected) this.#log.debug(fields, 'runner stopped');
    else this.#log.warn(fields, 'runner exited unexpectedly');
    this.#hook('onShrink', slot.id);
    this.#pump();
  }

  #leave(slot: RunnerSlot, stopped: Promise<void>): void {
    this.#leaving.add(slot);
    const gone = () => {
      this.#leaving.delete(slot);
      slot.leave();
    };
    stopped.then(gone, gone);
  }

  // ---- closing ----------------------------------------------------------------------

  async #shutdown(grace: number): Promise<void> {
    this.#closed = true;
    const started = performance.now();
    const closedError = new PoolClosedError(this.options.name);
    if (this.#minRetry !== undefined) clearTimeout(this.#minRetry);

    for (const call of this.#queue.drain()) this.#settle(call, closedError);
    for (const slot of this.#slots.all()) {
      if (slot.state === 'booting') slot.boot.abort(closedError);
      // Children run until stopped: stop them now, as their handles' stop() would, so
      // close() waits for them to return rather than for the whole grace period.
      else if (slot.state === 'ready') slot.link!.stopChildren();
    }

    await this.#drainCalls(grace);
    for (const slot of [...this.#slots.all(), ...this.#leaving]) {
      if (slot.link === undefined) continue;
      if (slot.state !== 'gone') slot.link.cancelAll('closing');
      slot.link.failAll(closedError);
    }

    // What is left of the grace period, but at least a second: the runners were told to
    // stop over the wire, and one whose event loop is stuck is killed after that.
    const stopGrace = Math.max(STOP_GRACE_MIN, grace - (performance.now() - started));
    const slots = this.#slots.all();
    for (const slot of slots) this.#retire(slot, 'pool closed', stopGrace);
    await Promise.all([...slots, ...this.#leaving].map((slot) => slot.gone));
    // A listener still starting (a backend init that never answers) is closed when it
    // comes, without holding up close().
    void this.#listening?.then(
      (listener) => listener.close(),
      () => undefined,
    );
    this.#log.info({ ms: Math.round(performance.now() - started) }, 'pool closed');
  }

  #drainCalls(grace: number): Promise<void> {
    if (this.#busy === 0 || grace <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, grace);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#cutGrace = done;
      this.#idleWaiters.push(done);
    });
  }

  #hook(name: 'onGrowStart' | 'onGrowEnd' | 'onShrink', runnerId: string, error?: Error): void {
    const hook: PoolHook | undefined = this.options[name];
    if (hook === undefined) return;
    const event: PoolEvent = { pool: this.options.name, runnerCount: this.#slots.size, runnerId };
    if (error !== undefined) event.error = error;
    try {
      hook(event);
    } catch (hookError) {
      this.#log.error({ err: hookError, hook: name }, 'pool hook threw');
    }
  }
}
