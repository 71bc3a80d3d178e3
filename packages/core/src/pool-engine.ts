import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { CallQueue, type CallState } from './call-state';
import { Deadlines } from './deadlines';
import { getDefaultBackend } from './default-backend';
import { CallAbortedError, CallTimeoutError, FrameTooLargeError, PoolClosedError } from './errors';
import { LocalBackend } from './local-backend';
import { resolveLogger } from './logger';
import { duration, type ResolvedPoolOptions } from './options';
import { RunnerFleet, STOP_GRACE_MIN } from './runner-fleet';
import type { LinkSink } from './runner-link';
import type { RunnerSlot } from './runner-slot';
import type { RunnerTable } from './runner-table';
import { parseTaskName } from './task-name';
import { timerFor } from './timers';
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

// An upper bound on a call header's encoded size, less the task name (measured: 58 bytes).
const CALL_HEADER_BYTES = 96;
const NO_BYTES = Buffer.alloc(0);

/**
 * The pool's engine, calls side: the queue of calls, their deadlines, placing them on the
 * runners of its `RunnerFleet`, and settling them. `Pool` is the public face of it.
 */
export class PoolEngine {
  readonly options: ResolvedPoolOptions;
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
  readonly #fleet: RunnerFleet;
  readonly #slots: RunnerTable;
  #busy = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #cutGrace: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(options: ResolvedPoolOptions) {
    this.options = options;
    const backend = options.backend ?? getDefaultBackend() ?? new LocalBackend();
    this.#log = resolveLogger(options.logger).child({ pool: options.name });
    this.#fleet = new RunnerFleet(options, backend, this.#log, {
      queued: () => this.#queue.size,
      pump: () => this.#pump(),
      failQueued: (room, error) => {
        while (this.#queue.size > room) this.#settle(this.#queue.shift()!, error);
      },
      sink: this.#sink,
    });
    this.#slots = this.#fleet.slots;
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
      // Listeners before the deadline: nothing may be armed for a call that never queued.
      if (signal !== undefined) {
        call.onAbort = () => this.#giveUp(call, 'aborted');
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      options.stopSignal?.addEventListener('abort', () => this.#stopChild(call), { once: true });
      this.#deadlines.add(call, timeout);
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
  // that ignores its signal cannot push the runner past maxConcurrency (and past
  // `cancelGrace` the runner is replaced).
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
    if (slot.state !== 'ready' || call.cancelTimer !== undefined) return;
    call.cancelTimer = timerFor(this.options.cancelGrace, () => this.#outlived(call, slot));
    if (call.cancelTimer === undefined) return; // cancelGrace: Infinity
    call.cancelTimer.unref();
    slot.abandoned++;
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
    this.#fleet.retireIfDrained(slot);
    this.#pump();
  }

  #timeoutError(call: CallState): CallTimeoutError {
    const stage = call.slot ? 'run' : this.#slots.count('booting') > 0 ? 'boot' : 'queue';
    return new CallTimeoutError(call.task, call.timeout, stage);
  }

  #pump(): void {
    if (this.#closed) return;
    // One clock reading for the whole pass: it dispatches in one synchronous run, and the
    // parent's own deadline timers, not this reading, decide when a call times out.
    const now = performance.now();
    for (let call = this.#queue.peek(); call !== undefined; call = this.#queue.peek()) {
      // A call whose deadline passed while the event loop was busy never runs.
      if (call.deadline <= now) {
        this.#giveUp(call, 'timeout');
        continue;
      }
      const slot = this.#slots.pick();
      if (slot === undefined) break;
      this.#queue.shift();
      this.#dispatch(call, slot, now);
    }
    this.#fleet.grow();
  }

  #dispatch(call: CallState, slot: RunnerSlot, now: number): void {
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
    const remaining = Math.max(1, Math.ceil(call.deadline - now));
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
    this.#fleet.released(slot);
    this.#checkIdle();
    this.#pump();
  }

  #checkIdle(): void {
    if (this.#busy !== 0 || this.#queue.size !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- closing ----------------------------------------------------------------------

  async #shutdown(grace: number): Promise<void> {
    this.#closed = true;
    const started = performance.now();
    const closedError = new PoolClosedError(this.options.name);

    for (const call of this.#queue.drain()) this.#settle(call, closedError);
    this.#fleet.closeDoors(closedError);
    await this.#drainCalls(grace);
    this.#fleet.abortCalls(closedError);
    // What is left of the grace period, but at least a second: the runners were told to
    // stop over the wire, and one whose event loop is stuck is killed after that.
    await this.#fleet.stopAll(Math.max(STOP_GRACE_MIN, grace - (performance.now() - started)));
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
}
