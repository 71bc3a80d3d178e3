import type { CallKind } from './wire/protocol';
import type { Body } from './wire/codec';
import type { RunnerSlot } from './runner-slot';
import type { Expiring } from './deadlines';

/** One call through its whole life: queued, dispatched to a runner, settled. */
export interface CallState extends Expiring {
  readonly task: string;
  readonly kind: CallKind;
  /** The encoded argument array. */
  readonly body: Body;
  /** `performance.now()` at which the caller stops waiting (Infinity: never). */
  readonly deadline: number;
  /** The timeout the deadline came from, for the error message. */
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** For `child` calls: the runner reported that the function started. */
  readonly started: (() => void) | undefined;
  /** Settled for the caller (resolved, rejected, timed out or aborted). */
  done: boolean;
  /** In the queue (counted by its `size`). */
  queued: boolean;
  /** Set once dispatched. */
  slot: RunnerSlot | undefined;
  /** The id on the runner's connection, once dispatched. */
  id: number;
  onAbort: (() => void) | undefined;
}

/**
 * A FIFO of calls waiting for a runner. Calls that settle while queued (timed out,
 * aborted) are only marked, and skipped when they reach the head; `size` counts the live.
 * Whoever settles a call with `queued` set calls `forget(call)`.
 */
export class CallQueue {
  #items: CallState[] = [];
  #head = 0;
  #live = 0;

  get size(): number {
    return this.#live;
  }

  push(call: CallState): void {
    call.queued = true;
    this.#items.push(call);
    this.#live++;
  }

  /** The oldest live call, left in place. */
  peek(): CallState | undefined {
    while (this.#head < this.#items.length && !this.#items[this.#head]!.queued) this.#head++;
    this.#compact();
    return this.#items[this.#head];
  }

  /** Takes the oldest live call. */
  shift(): CallState | undefined {
    const call = this.peek();
    if (call !== undefined) {
      this.#head++;
      this.#live--;
      call.queued = false;
    }
    return call;
  }

  /** Notes that a queued call settled where it stood; it is skipped when reached. */
  forget(call: CallState): void {
    if (!call.queued) return;
    call.queued = false;
    this.#live--;
  }

  /** Removes and returns every live call. */
  drain(): CallState[] {
    const live = this.#items.slice(this.#head).filter((call) => call.queued);
    for (const call of live) call.queued = false;
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    return live;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
