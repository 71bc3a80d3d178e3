import PQueue from 'p-queue';

/** At most this many runner creations (create, attach, start) run at once per daemon. */
export const BOOT_CONCURRENCY = 4;

const queues = new Map<string, PQueue>();

/**
 * The boot queue of one daemon, shared by every pool of this process that talks to it, so 40
 * simultaneous boots turn into a steady stream of Engine API calls instead of a burst.
 */
export function bootQueue(address: string): PQueue {
  let queue = queues.get(address);
  if (!queue) {
    queue = new PQueue({ concurrency: BOOT_CONCURRENCY });
    queues.set(address, queue);
  }
  return queue;
}

/**
 * Runs `job` when the queue has room. If `signal` aborts while the job is still waiting, the
 * returned promise rejects with `onAbort()` at once and the job is skipped when its turn comes.
 * A job already running is not interrupted: it checks the signal itself between its steps.
 */
export function runQueued<T>(
  queue: PQueue,
  signal: AbortSignal,
  onAbort: () => Error,
  job: () => Promise<T>,
): Promise<T> {
  if (signal.aborted) return Promise.reject(onAbort());

  return new Promise<T>((resolve, reject) => {
    let started = false;
    const abort = (): void => {
      if (!started) reject(onAbort());
    };
    signal.addEventListener('abort', abort, { once: true });

    void queue.add(async () => {
      signal.removeEventListener('abort', abort);
      if (signal.aborted) return;
      started = true;
      try {
        resolve(await job());
      } catch (error) {
        reject(error);
      }
    });
  });
}
