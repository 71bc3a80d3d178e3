import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Backend } from './backend';
import {
  BootError,
  describeExit,
  FlameError,
  PoolClosedError,
  RunnerExitedError,
  type RunnerExitInfo,
} from './errors';
import { newRunnerId, PARENT_ID, parentCookie } from './identity';
import { ParentListener } from './listener';
import type { PoolEvent, PoolHook, ResolvedPoolOptions } from './options';
import { COOKIE_ENV, encodeParent, PARENT_ENV } from './parent-env';
import { bootRunner, type BootedRunner } from './runner-boot';
import type { LinkSink } from './runner-link';
import { bootingSlot, type RunnerSlot } from './runner-slot';
import { RunnerTable } from './runner-table';
import { timerFor, withinMs } from './timers';

/** What the fleet needs from the calls side of its pool. */
export interface FleetHost {
  /** Calls waiting for a runner. */
  queued(): number;
  /** Runners came, went or failed: place the calls that wait. */
  pump(): void;
  /** A boot failed: fail the queued calls beyond `room`, which no runner will take. */
  failQueued(room: number, error: Error): void;
  /** Where every runner's replies go. */
  readonly sink: LinkSink;
}

// How long a lost runner's calls wait for the backend to report the exit status, so the
// error can say how it ended (killed for memory, exit code...). Usually it is already known.
const EXIT_INFO_WAIT = 3_000;
const MIN_RETRY_DELAYS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
// A runner up this long (ms) counts as a good boot for the `min` boots' back-off.
const STABLE_AFTER = 5_000;
/** The least time a runner told to stop gets before it is killed (ms). */
export const STOP_GRACE_MIN = 1_000;
const CANCEL_OUTLIVED = 'a cancelled task outlived cancelGrace';

/**
 * The runners of one pool through their lives: started when calls wait or `min` asks for
 * them, told to stop when idle, single-use, draining or closing, and taken out when they
 * are gone, whichever way they went. The calls side (`PoolEngine`) places calls on them.
 */
export class RunnerFleet {
  readonly slots: RunnerTable;
  readonly #options: ResolvedPoolOptions;
  readonly #backend: Backend;
  readonly #log: Logger;
  readonly #host: FleetHost;
  readonly #taskRoot: string;
  /** Runners out of `slots` whose backend is still stopping them; closing waits for them. */
  readonly #leaving = new Set<RunnerSlot>();
  #listening: Promise<ParentListener> | undefined;
  #closed = false;
  #minFailures = 0;
  #minRetry: NodeJS.Timeout | undefined;

  constructor(options: ResolvedPoolOptions, backend: Backend, log: Logger, host: FleetHost) {
    this.#options = options;
    this.#backend = backend;
    this.#log = log;
    this.#host = host;
    this.#taskRoot = path.resolve(options.taskRoot);
    this.slots = new RunnerTable(options.maxConcurrency, options.singleUse);
  }

  // ---- growing ----------------------------------------------------------------------

  /**
   * Starts runners while queued calls exceed what booting runners will take, and while
   * fewer than `min` are alive; never past `max` alive (stopping ones count until gone).
   */
  grow(): void {
    const { max, min } = this.#options;
    // The common case, after every call: nothing waits and no runner is kept warm.
    if (this.#closed || (min === 0 && this.#host.queued() === 0)) return;
    const slots = this.slots;
    let booting = slots.count('booting');
    let live = slots.live();

    // `#closed` again each time: a hook run by a boot may close the pool.
    while (!this.#closed && slots.size < max && this.#host.queued() > booting * slots.perRunner) {
      this.#boot();
      booting++;
      live++;
    }
    while (!this.#closed && slots.size < max && live < min && this.#minRetry === undefined) {
      this.#boot();
      live++;
    }
  }

  #boot(): void {
    const slot = bootingSlot(newRunnerId(this.#options.name));
    slot.bootDeadline = performance.now() + this.#options.bootTimeout;
    this.slots.add(slot);
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
        pool: this.#options.name,
        bootTimeout: this.#options.bootTimeout,
        logger: log,
        listening: () => this.#ensureListening(),
        env: (port) => this.#runnerEnv(slot.id, port, log),
        sink: this.#host.sink,
      });
    } catch (error) {
      this.#bootFailed(slot, error, log, started);
      return;
    }

    const { instance, link, info } = booted;
    slot.state = 'ready';
    link.channel.on('close', () => void this.#lost(slot));
    link.channel.socket.on('drain', () => this.#host.pump());
    instance.exited.then(() => void this.#lost(slot));
    slot.readyAt = performance.now();
    const ms = Math.round(performance.now() - started);
    log.info({ ms, backendId: instance.backendId, host: info.hostname }, 'runner ready');
    this.#hook('onGrowEnd', slot.id);

    if (this.#closed) {
      this.#retire(slot, 'pool closed');
      return;
    }
    this.#host.pump();
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
      pool: this.#options.name,
      taskRoot: this.#taskRoot,
      maxFrame: this.#options.maxFrameSize,
      connectTimeout: this.#options.bootTimeout,
      handshakeTimeout: this.#options.handshakeTimeout,
      logLevel: level,
    });
    return { [PARENT_ENV]: parent, [COOKIE_ENV]: parentCookie() };
  }

  #ensureListening(): Promise<ParentListener> {
    this.#listening ??= (async () => {
      await this.#backend.init?.({
        pool: this.#options.name,
        parentId: PARENT_ID,
        logger: this.#log,
        timeoutMs: this.#options.bootTimeout,
      });
      const listener = new ParentListener({
        host: this.#backend.listenHost(),
        cookie: parentCookie(),
        handshakeTimeout: this.#options.handshakeTimeout,
        maxFrame: this.#options.maxFrameSize,
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
    this.slots.remove(slot);
    slot.link?.channel.destroy();
    // A backend that ignores the abort may still finish starting: what it started is
    // stopped then, and closing waits for that, but no longer than the boot's own deadline
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
    // Without this, a broken image would be booted again and again for the same callers
    // until their deadlines: the calls that no other runner will take fail now.
    this.#host.failQueued(this.slots.room(), error);
    if (this.slots.live() < this.#options.min && !this.#closed) this.#delayMinBoots();
    this.#host.pump();
  }

  #delayMinBoots(): void {
    const delay = MIN_RETRY_DELAYS[Math.min(this.#minFailures++, MIN_RETRY_DELAYS.length - 1)]!;
    if (this.#minRetry !== undefined) return;
    this.#minRetry = setTimeout(() => {
      this.#minRetry = undefined;
      this.#host.pump();
    }, delay);
    this.#minRetry.unref();
  }

  // ---- shrinking --------------------------------------------------------------------

  /** A call on `slot` was answered (or failed): the runner may now be idle, or done. */
  released(slot: RunnerSlot): void {
    // Read the clock only while there is a back-off to forget: this runs after every call.
    if (this.#minFailures > 0 && performance.now() - slot.readyAt >= STABLE_AFTER) {
      this.#minFailures = 0;
    }
    if (slot.state !== 'ready') return;
    if (slot.draining) this.retireIfDrained(slot);
    else if (this.#options.singleUse) this.#retire(slot, 'single use: call done');
    else if (slot.active === 0) this.#armIdle(slot);
  }

  /** A draining runner stops once only cancelled calls are left on it; they end with it. */
  retireIfDrained(slot: RunnerSlot): void {
    if (slot.draining && slot.active === slot.abandoned) {
      this.#retire(slot, CANCEL_OUTLIVED, STOP_GRACE_MIN);
    }
  }

  #armIdle(slot: RunnerSlot): void {
    const after = this.#options.idleShutdownAfter;
    if (slot.idleTimer !== undefined || !Number.isFinite(after)) return;
    slot.idleTimer = timerFor(after, () => {
      slot.idleTimer = undefined;
      if (slot.state === 'ready' && slot.active === 0 && this.slots.live() > this.#options.min) {
        this.#retire(slot, 'idle');
      }
    });
    slot.idleTimer?.unref();
  }

  /** Tells a runner to leave and makes sure it does; `#lost` then takes it out. */
  #retire(slot: RunnerSlot, reason: string, graceMs = this.#options.shutdownTimeout): void {
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
    this.slots.remove(slot);
    const link = slot.link!;
    link.channel.destroy();
    // Leaving at once, so closing from now on waits for this runner and its calls.
    this.#leave(slot, slot.instance!.stop(this.#options.shutdownTimeout));
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
    this.#host.pump();
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

  /**
   * No more runners start: boots under way are aborted with `error`, and placed children
   * are stopped, as their handles' stop() would, so closing waits for them to return
   * rather than for the whole grace period.
   */
  closeDoors(error: PoolClosedError): void {
    this.#closed = true;
    if (this.#minRetry !== undefined) clearTimeout(this.#minRetry);
    for (const slot of this.slots.all()) {
      if (slot.state === 'booting') slot.boot.abort(error);
      else if (slot.state === 'ready') slot.link!.stopChildren();
    }
  }

  /** Aborts every call still on a runner, leaving ones included, and fails it with `error`. */
  abortCalls(error: PoolClosedError): void {
    for (const slot of [...this.slots.all(), ...this.#leaving]) {
      if (slot.link === undefined) continue;
      if (slot.state !== 'gone') slot.link.cancelAll('closing');
      slot.link.failAll(error);
    }
  }

  /**
   * Tells every runner to stop, kills those that have not within `graceMs`, and resolves
   * once all are gone. A listener still starting (a backend init that never answers) is
   * closed when it comes, without holding this up.
   */
  async stopAll(graceMs: number): Promise<void> {
    const slots = this.slots.all();
    for (const slot of slots) this.#retire(slot, 'pool closed', graceMs);
    await Promise.all([...slots, ...this.#leaving].map((slot) => slot.gone));
    void this.#listening?.then(
      (listener) => listener.close(),
      () => undefined,
    );
  }

  #hook(name: 'onGrowStart' | 'onGrowEnd' | 'onShrink', runnerId: string, error?: Error): void {
    const hook: PoolHook | undefined = this.#options[name];
    if (hook === undefined) return;
    const event: PoolEvent = { pool: this.#options.name, runnerCount: this.slots.size, runnerId };
    if (error !== undefined) event.error = error;
    try {
      hook(event);
    } catch (hookError) {
      this.#log.error({ err: hookError, hook: name }, 'pool hook threw');
    }
  }
}
