import type { RunnerExitInfo, RunnerInstance } from '@flame-node/core';
import { sleep, within } from './abort';
import { readJsonBody, type EngineClient, type EngineStream } from './engine';
import { engineStatus } from './errors';
import { forwardRunnerLine, LogTail, StreamDemuxer } from './log-tail';
import { OomWatch } from './oom-watch';
import { removeContainer } from './sweeper';

type Logger = import('@flame-node/core').RunnerLaunch['logger'];

interface WaitAnswer {
  StatusCode?: number;
  Error?: { Message?: string } | null;
}

interface InspectAnswer {
  State?: { Running?: boolean; ExitCode?: number; OOMKilled?: boolean };
}

/** After the exit, how long the last output may take to arrive. */
const LOG_DRAIN_MS = 2_000;
/** After `docker stop` and after `docker kill`, how long the exit may take to be reported. */
const STOP_CONFIRM_MS = 2_000;
const KILL_CONFIRM_MS = 15_000;
/** How often a broken wait request is retried before the daemon counts as lost. */
const WAIT_RETRIES = 5;
/** After the exit, how long the daemon's `die` event may take to arrive. */
const DIE_EVENT_MS = 2_000;
/**
 * How far back the event subscription asks the daemon to replay, in seconds: wide enough for
 * a daemon whose clock is behind ours; only this container's events come back.
 */
const EVENT_REPLAY_S = 60;

/**
 * One runner container. It is created by the boot sequence, which calls `watch()` before
 * starting it: the output stream is attached and the exit wait registered first, so neither
 * the first log line nor an instant exit can be missed.
 */
export class RunnerContainer implements RunnerInstance {
  readonly backendId: string;
  readonly exited: Promise<RunnerExitInfo>;

  private readonly path: string;
  private readonly logger: Logger;
  private readonly tail: LogTail;
  private readonly streams = new Set<EngineStream>();
  private logsDone: Promise<void> = Promise.resolve();
  private oomWatch: OomWatch | undefined;
  private settle!: (info: RunnerExitInfo) => void;
  private settled = false;
  private abandoned: string | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly client: EngineClient,
    id: string,
    logger: Logger,
    private readonly keepRunners: boolean,
  ) {
    this.backendId = id;
    this.path = `/containers/${id}`;
    this.logger = logger.child({ containerId: id.slice(0, 12) });
    this.tail = new LogTail((stream, line) => forwardRunnerLine(this.logger, stream, line));
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /**
   * Attaches to the output, registers the exit wait and subscribes to the container's oom
   * events; resolves once all three are in place.
   */
  async watch(): Promise<void> {
    const since = Math.floor(Date.now() / 1000) - EVENT_REPLAY_S;
    const [attach, wait, oomWatch] = await Promise.allSettled([
      this.open({
        path: `${this.path}/attach`,
        query: { stream: true, stdout: true, stderr: true, logs: true },
      }),
      // The daemon sends the headers of a wait only once the wait is registered.
      this.open({ path: `${this.path}/wait`, query: { condition: 'next-exit' } }),
      OomWatch.open(this.client, this.backendId, since),
    ]);

    if (attach.status === 'fulfilled') {
      this.followLogs(attach.value);
    } else {
      const err: unknown = attach.reason;
      this.logger.warn({ err }, 'cannot attach to the runner output; going on without it');
    }
    if (oomWatch.status === 'fulfilled') {
      this.oomWatch = oomWatch.value;
      if (this.abandoned || this.settled) oomWatch.value.close();
    } else {
      const err: unknown = oomWatch.reason;
      this.logger.debug({ err }, 'cannot follow the container events; OOM kills told by inspect');
    }
    if (wait.status === 'rejected') throw wait.reason;
    void this.followExit(wait.value);
  }

  /** Stops the container: docker stop with the grace period, then kill. Idempotent. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.stopNow(Math.max(0, graceMs));
    return this.stopping;
  }

  /**
   * Gives up on a container whose boot failed or was aborted: drops the streams, removes it
   * (even with keepRunners: it never ran as a runner) and settles `exited`.
   */
  async discard(reason: string): Promise<void> {
    this.abandon(reason);
    await removeContainer(this.client, this.backendId, this.logger);
    this.finish({ code: null, signal: null, reason, logTail: this.tail.lines() });
  }

  private async stopNow(graceMs: number): Promise<void> {
    if (this.settled) return;
    const seconds = Math.ceil(graceMs / 1000);
    const started = Date.now();
    this.logger.debug({ graceMs }, 'stopping container');

    await this.tolerate('stop', { t: seconds }, seconds * 1000 + 30_000);
    if (!(await this.settledWithin(STOP_CONFIRM_MS))) {
      await this.tolerate('kill', {}, 30_000);
    }
    if (!(await this.settledWithin(KILL_CONFIRM_MS))) {
      // The daemon accepted stop and kill but never reported the exit: do not hang the pool.
      this.abandon('the Docker daemon did not confirm the exit');
      if (!this.keepRunners) void removeContainer(this.client, this.backendId, this.logger);
      this.finish({ code: null, signal: null, reason: this.abandoned, logTail: this.tail.lines() });
    }

    await this.exited;
    this.logger.debug({ ms: Date.now() - started }, 'stopped container');
  }

  /** Sends stop or kill; a container that is already stopped or gone is fine. */
  private async tolerate(
    action: 'stop' | 'kill',
    query: Record<string, number>,
    timeoutMs: number,
  ): Promise<void> {
    try {
      await this.client.json({ method: 'POST', path: `${this.path}/${action}`, query, timeoutMs });
    } catch (error) {
      const status = engineStatus(error);
      if (status !== 304 && status !== 404 && status !== 409) {
        this.logger.warn({ err: error }, `docker ${action} failed`);
      }
    }
  }

  private async followExit(wait: EngineStream): Promise<void> {
    const info = await this.awaitExit(wait);
    if (info.oomKilled === undefined && !this.abandoned) info.oomKilled = await this.oomKilled();

    await within(this.logsDone, LOG_DRAIN_MS);
    if (!this.keepRunners && !this.abandoned) await this.ensureRemoved();

    this.finish({ ...info, signal: null, logTail: this.tail.lines() });
  }

  /** Waits for the exit; if the wait request breaks, asks the daemon what became of it. */
  private async awaitExit(first: EngineStream): Promise<RunnerExitInfo> {
    let wait: EngineStream | undefined = first;
    let lastError: unknown;

    for (let attempt = 0; attempt <= WAIT_RETRIES; attempt++) {
      if (wait) {
        try {
          const answer = await readJsonBody<WaitAnswer>(wait.response);
          return { code: answer.StatusCode ?? null, reason: answer.Error?.Message || undefined };
        } catch (error) {
          lastError = error;
        }
      }
      if (this.abandoned) return { code: null, reason: this.abandoned };

      try {
        const info = await this.client.json<InspectAnswer>({
          method: 'GET',
          path: `${this.path}/json`,
        });
        if (!info.State?.Running) {
          return { code: info.State?.ExitCode ?? null, oomKilled: info.State?.OOMKilled };
        }
      } catch (error) {
        if (engineStatus(error) === 404) return { code: null, reason: 'the container was removed' };
        lastError = error;
      }

      await sleep(250 * 2 ** attempt);
      wait = await this.open({
        path: `${this.path}/wait`,
        query: { condition: 'not-running' },
      }).catch((error: unknown) => {
        lastError = error;
        return undefined;
      });
    }

    const why = lastError instanceof Error ? lastError.message : String(lastError);
    return { code: null, reason: `lost track of the container: ${why}` };
  }

  /**
   * Whether the kernel killed the container for memory: from its events when they arrived,
   * else from an inspect right after the exit (which AutoRemove often wins).
   */
  private async oomKilled(): Promise<boolean | undefined> {
    const watch = this.oomWatch;
    if (watch && (await within(watch.verdict, DIE_EVENT_MS))) {
      const verdict = await watch.verdict;
      if (verdict !== undefined) return verdict;
    }
    try {
      const info = await this.client.json<InspectAnswer>({
        method: 'GET',
        path: `${this.path}/json`,
        timeoutMs: 2_000,
      });
      return info.State?.OOMKilled;
    } catch {
      return undefined;
    }
  }

  /** AutoRemove removes the container after its exit; make sure of it, or do it ourselves. */
  private async ensureRemoved(): Promise<void> {
    try {
      await this.client.json({
        method: 'POST',
        path: `${this.path}/wait`,
        query: { condition: 'removed' },
        timeoutMs: 10_000,
      });
    } catch (error) {
      if (engineStatus(error) === 404) return;
      await removeContainer(this.client, this.backendId, this.logger);
    }
  }

  private followLogs(attach: EngineStream): void {
    const demuxer = new StreamDemuxer((stream, data) => this.tail.write(stream, data));
    this.logsDone = new Promise((resolve) => {
      attach.response.on('data', (chunk: Buffer) => demuxer.push(chunk));
      attach.response.once('end', resolve);
      attach.response.once('close', resolve);
      attach.response.once('error', () => resolve());
    });
  }

  private async open(request: {
    path: string;
    query: Record<string, string | boolean>;
  }): Promise<EngineStream> {
    const stream = await this.client.stream({ method: 'POST', ...request });
    this.streams.add(stream);
    if (this.abandoned) stream.close();
    return stream;
  }

  private abandon(reason: string): void {
    this.abandoned ??= reason;
    for (const stream of this.streams) stream.close();
    this.oomWatch?.close();
  }

  private settledWithin(ms: number): Promise<boolean> {
    return within(this.exited, ms);
  }

  private finish(info: RunnerExitInfo): void {
    if (this.settled) return;
    this.settled = true;
    for (const stream of this.streams) stream.close();
    this.streams.clear();
    this.oomWatch?.close();
    const { code, oomKilled, reason } = info;
    this.logger.debug({ code, oomKilled, reason }, 'container exited');
    this.settle(info);
  }
}
