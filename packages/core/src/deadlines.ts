import { performance } from 'node:perf_hooks';
import { MAX_TIMER_DELAY } from './timers';

/** Something with a deadline that a `Deadlines` can hold (its links are its own). */
export interface Expiring {
  readonly deadline: number;
  lane: Lane<Expiring> | undefined;
  prevExpiring: Expiring | undefined;
  nextExpiring: Expiring | undefined;
}

interface Lane<T extends Expiring> {
  readonly timeout: number;
  head: T | undefined;
  tail: T | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One timer per distinct timeout instead of one per call. Calls with the same
 * timeout expire in the order they started, so each timeout gets a FIFO (an intrusive
 * doubly-linked list: O(1) add and remove, nothing allocated per call) and one timer armed
 * for its head. Removing the head leaves the timer alone; when it fires it expires what is
 * due and re-arms for the new head.
 */
export class Deadlines<T extends Expiring> {
  readonly #lanes = new Map<number, Lane<T>>();
  readonly #expire: (item: T) => void;

  constructor(expire: (item: T) => void) {
    this.#expire = expire;
  }

  add(item: T, timeout: number): void {
    if (!Number.isFinite(timeout) || timeout > MAX_TIMER_DELAY) return;
    let lane = this.#lanes.get(timeout);
    if (lane === undefined) {
      lane = { timeout, head: undefined, tail: undefined, timer: undefined };
      this.#lanes.set(timeout, lane);
    }
    item.lane = lane as unknown as Lane<Expiring>;
    item.prevExpiring = lane.tail;
    item.nextExpiring = undefined;
    if (lane.tail === undefined) lane.head = item;
    else lane.tail.nextExpiring = item;
    lane.tail = item;
    if (lane.timer === undefined) this.#arm(lane);
  }

  remove(item: T): void {
    const lane = item.lane as unknown as Lane<T> | undefined;
    if (lane === undefined) return;
    const prev = item.prevExpiring as T | undefined;
    const next = item.nextExpiring as T | undefined;
    if (prev === undefined) lane.head = next;
    else prev.nextExpiring = next;
    if (next === undefined) lane.tail = prev;
    else next.prevExpiring = prev;
    item.lane = item.prevExpiring = item.nextExpiring = undefined;
    if (lane.head === undefined) {
      if (lane.timer !== undefined) clearTimeout(lane.timer);
      this.#lanes.delete(lane.timeout);
    }
  }

  #arm(lane: Lane<T>): void {
    const head = lane.head!;
    const wait = Math.max(1, Math.ceil(head.deadline - performance.now()));
    lane.timer = setTimeout(() => this.#fire(lane), wait);
  }

  #fire(lane: Lane<T>): void {
    lane.timer = undefined;
    const now = performance.now();
    for (let head = lane.head; head !== undefined && head.deadline <= now; head = lane.head) {
      this.remove(head);
      this.#expire(head);
    }
    if (lane.head !== undefined && lane.timer === undefined) this.#arm(lane);
  }
}
