import type { RunnerInstance } from './backend';
import type { RunnerLink } from './runner-link';

export type SlotState = 'booting' | 'ready' | 'stopping' | 'gone';

/** The pool's record of one runner. */
export interface RunnerSlot {
  readonly id: string;
  state: SlotState;
  /** Calls assigned to this runner and not yet answered by it. */
  active: number;
  /** Of those, calls their callers gave up on (timed out, aborted). */
  abandoned: number;
  /** Takes no new calls: it stops once only abandoned calls are left on it. */
  draining: boolean;
  /** Has served a call (for single-use pools). */
  used: boolean;
  instance: RunnerInstance | undefined;
  link: RunnerLink | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** `performance.now()` when it became ready. */
  readyAt: number;
  /** `performance.now()` past which its boot is given up. */
  bootDeadline: number;
  /** The backend's start, while it runs: a boot given up on still stops what it starts. */
  starting: Promise<RunnerInstance> | undefined;
  /** Aborts the boot (timeout, pool closed). */
  readonly boot: AbortController;
  /** Settles when the slot has left the pool. */
  readonly gone: Promise<void>;
  /** Settles `gone`. */
  readonly leave: () => void;
}

/** A new slot in the booting state. */
export function bootingSlot(id: string): RunnerSlot {
  let leave!: () => void;
  const gone = new Promise<void>((resolve) => (leave = resolve));
  return {
    id,
    state: 'booting',
    active: 0,
    abandoned: 0,
    draining: false,
    used: false,
    instance: undefined,
    link: undefined,
    idleTimer: undefined,
    readyAt: Infinity,
    bootDeadline: Infinity,
    starting: undefined,
    boot: new AbortController(),
    gone,
    leave,
  };
}
