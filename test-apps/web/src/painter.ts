import { FlameError, RemoteError, type Pool, type RemoteModule } from '@flame-node/core';
import type { EventHub } from './events';
import type { ColourRow, ColourStore } from './store';
import type * as PaintTasks from './tasks/paint';

/** How many colours the page's grid shows. */
export const GRID_SIZE = 50;

/** Counters the page shows above the grid. */
export interface Status {
  /** Tasks clicked and not finished yet. */
  pending: number;
  /** Runners up or booting. */
  runners: number;
}

/** What a page gets when it connects. */
export interface Snapshot extends Status {
  /** The newest colours, newest first. */
  recent: ColourRow[];
}

/** A task that did not come back with a colour. */
export interface Failure {
  job: number;
  message: string;
  /** `FLAME_ERR_REMOTE` when the task threw, another `FLAME_ERR_...` when flame-node failed. */
  code: string;
  /** The task's own error code, if it threw one. */
  remoteCode?: string | number;
}

/**
 * Starts paint tasks on the pool in the background and turns their outcome into stored rows
 * and live events: `status`, `colour` (a stored row) and `failure`.
 */
export class Painter {
  readonly #pool: Pool;
  readonly #store: ColourStore;
  readonly #hub: EventHub;
  readonly #taskMs: number;
  readonly #tasks: RemoteModule<typeof PaintTasks>;
  #pending = 0;
  #lastJob = 0;

  constructor(options: { pool: Pool; store: ColourStore; hub: EventHub; taskMs: number }) {
    this.#pool = options.pool;
    this.#store = options.store;
    this.#hub = options.hub;
    this.#taskMs = options.taskMs;
    // The type-only import above gives the remote calls their types; at run time the parent
    // never loads the task module, the runners do.
    this.#tasks = this.#pool.module<typeof PaintTasks>('tasks/paint');
  }

  /** Starts one task and returns its job number at once; the outcome arrives as an event. */
  spawn(options: { fail?: boolean } = {}): number {
    const job = ++this.#lastJob;
    const started = performance.now();
    this.#pending += 1;
    this.publishStatus();

    this.#tasks
      .paint({ ms: this.#taskMs, fail: options.fail === true })
      .then((paint) => {
        const row = this.#store.add({ ...paint, ms: performance.now() - started });
        this.#hub.send('colour', { job, ...row });
      })
      .catch((error: unknown) => this.#fail(job, error))
      .finally(() => {
        this.#pending -= 1;
        this.publishStatus();
      });
    return job;
  }

  /** Tasks not finished yet. */
  get pending(): number {
    return this.#pending;
  }

  status(): Status {
    const stats = this.#pool.stats();
    return { pending: this.#pending, runners: stats.runners + stats.booting };
  }

  snapshot(): Snapshot {
    return { ...this.status(), recent: this.#store.recent(GRID_SIZE) };
  }

  /** Sends the counters to every page (the pool's hooks call it when runners come and go). */
  publishStatus(): void {
    this.#hub.send('status', this.status());
  }

  #fail(job: number, error: unknown): void {
    const failure: Failure = {
      job,
      message: error instanceof Error ? error.message : String(error),
      code: error instanceof FlameError ? error.code : 'WEB_ERR_INTERNAL',
    };
    if (error instanceof RemoteError && error.remoteCode !== undefined) {
      failure.remoteCode = error.remoteCode;
    }
    // An expected failure (the fail button) is not worth more than a line at info level.
    const level = failure.remoteCode === 'WEB_ASKED_TO_FAIL' ? 'info' : 'warn';
    this.#pool.logger[level]({ job, err: error }, 'paint task failed');
    this.#hub.send('failure', failure);
  }
}
