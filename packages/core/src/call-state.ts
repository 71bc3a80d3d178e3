import type { CallKind } from './wire/protocol';
import type { Body } from './wire/codec';
import type { RunnerSlot } from './runner-slot';
import type { Expiring } from './deadlines';

/** One call through its whole life: queued, dispatched to a runner, settled. */
export interface CallState extends Expiring {
  readonly task: string;
  readonly kind: CallKind;
  /** The encoded argument array; emptied once handed to the runner's connection. */
  body: Body;
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
  /**
   * Set when the caller gave up while the call ran: fires if the task outlives the pool's
   * `cancelGrace`. Cleared when the runner answers.
   */
  cancelTimer: NodeJS.Timeout | undefined;
}

/**
 * A FIFO of calls waiting for a runner. Calls that settle while queued (timed out,
 * aborted) are only marked, and skipped when they reach the head; `size` counts the live.
 * Whoever settles a call with `queued` set calls `forget(call)`.
 */
export class CallQueue {
  #items: Array<CallState | undefined> = [];
  #head = 0;
  #live = 0;
  #dead = 0;

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
    // Cells behind the head are cleared, so a settled call (and its encoded arguments) is
    // not kept alive by the queue it left.
    for (let call = this.#items[this.#head]; call !== undefined && !call.queued;) {
      this.#items[this.#head++] = undefined;
      this.#dead--;
      call = this.#items[this.#head];
    }
    this.#compact();
    return this.#items[this.#head];
  }

  /** Takes the oldest live call. */
  shift(): CallState | undefined {
    const call = this.peek();
    if (call !== undefined) {
      this.#items[this.#head++] = undefined;
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
    this.#dead++;
    // Settled calls deep in the queue would wait for the head to reach them: once they
    // outnumber the live ones, sweep them out.
    if (this.#dead > 64 && this.#dead > this.#live) this.#sweep();
  }

  /** Removes and returns every live call. */
  drain(): CallState[] {
    const live = this.#liveCalls();
    for (const call of live) call.queued = false;
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
    this.#dead = 0;
    return live;
  }

  #liveCalls(): CallState[] {
    const live: CallState[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const call = this.#items[i];
      if (call?.queued) live.push(call);
    }
    return live;
  }

  #sweep(): void {
    this.#items = this.#liveCalls();
    this.#head = 0;
    this.#dead = 0;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
