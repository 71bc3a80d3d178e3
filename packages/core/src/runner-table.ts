import type { RunnerSlot } from './runner-slot';

/**
 * The runners of one pool, by id, in every state from booting to stopping, with the counts
 * and choices the pool makes over them. A slot leaves the table when its runner is gone.
 */
export class RunnerTable {
  readonly #slots = new Map<string, RunnerSlot>();
  readonly #maxConcurrency: number;
  readonly #singleUse: boolean;

  constructor(maxConcurrency: number, singleUse: boolean) {
    this.#maxConcurrency = maxConcurrency;
    this.#singleUse = singleUse;
  }

  /** Runners alive in any state; this is what `max` bounds. */
  get size(): number {
    return this.#slots.size;
  }

  /** Calls one runner takes at once. */
  get perRunner(): number {
    return this.#singleUse ? 1 : this.#maxConcurrency;
  }

  add(slot: RunnerSlot): void {
    this.#slots.set(slot.id, slot);
  }

  remove(slot: RunnerSlot): void {
    this.#slots.delete(slot.id);
  }

  all(): RunnerSlot[] {
    return [...this.#slots.values()];
  }

  count(state: RunnerSlot['state']): number {
    let count = 0;
    for (const slot of this.#slots.values()) if (slot.state === state) count++;
    return count;
  }

  /** Runners booting or ready: the ones that count towards `min`. */
  live(): number {
    return this.count('booting') + this.count('ready');
  }

  /**
   * The ready runner with the fewest calls in flight, among those with room. A runner whose
   * socket is backed up is skipped, so a slow runner makes calls wait in the pool's queue,
   * as values, instead of filling an ever larger socket buffer.
   */
  pick(): RunnerSlot | undefined {
    let best: RunnerSlot | undefined;
    for (const slot of this.#slots.values()) {
      if (slot.state !== 'ready' || !slot.link!.channel.writable) continue;
      if (this.#room(slot) > 0 && (best === undefined || slot.active < best.active)) best = slot;
    }
    return best;
  }

  /** Calls the runners could still take: free places on ready ones, all of booting ones. */
  room(): number {
    let room = 0;
    for (const slot of this.#slots.values()) {
      if (slot.state === 'booting') room += this.perRunner;
      else if (slot.state === 'ready') room += this.#room(slot);
    }
    return room;
  }

  #room(slot: RunnerSlot): number {
    if (slot.draining) return 0;
    return this.#singleUse ? Number(!slot.used) : this.#maxConcurrency - slot.active;
  }
}
