import type { Logger } from 'pino';
import type { RunnerExitInfo } from './errors';

/** What a backend gets to start one runner. */
export interface RunnerLaunch {
  /** Unique per runner, lowercase `[a-z0-9-]`: safe as a container name or hostname. */
  readonly runnerId: string;
  /** The pool's name. */
  readonly pool: string;
  /**
   * The parent's instance id: stable for the life of this process, distinct between
   * processes. Backends label runners with it so a later parent can find orphans.
   */
  readonly parentId: string;
  /**
   * Variables the runner agent needs (`FLAME_PARENT`, `FLAME_COOKIE`). A backend must put
   * every one of them into the runner's environment, unchanged.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Aborted when the pool gives up on this boot (boot timeout, pool closed). */
  readonly signal: AbortSignal;
  /** A child logger bound to the pool and runner id. */
  readonly logger: Logger;
}

/** A started runner as its backend sees it: a process, a container. */
export interface RunnerInstance {
  /** The backend's own id for it: a pid, a container id. */
  readonly backendId: string;
  /**
   * Settles once, when the runner is gone for good (and, for containers, removed unless
   * the user asked to keep them). Never rejects.
   */
  readonly exited: Promise<RunnerExitInfo>;
  /**
   * Makes sure the runner ends: it is normally told to stop over the wire first; this waits
   * up to `graceMs` for it to leave and then forces it. Idempotent; resolves after `exited`.
   */
  stop(graceMs: number): Promise<void>;
}

/** Context handed to a backend once per pool, before the first runner starts. */
export interface BackendContext {
  readonly pool: string;
  readonly parentId: string;
  readonly logger: Logger;
  /**
   * How long the boot that asked for `init` waits for it (the pool's `bootTimeout`): an init
   * that fails sooner, with its own error, tells the caller more than a boot timeout does.
   */
  readonly timeoutMs?: number;
}

/**
 * Starts runners. A backend only has to start a process or container running the runner
 * agent with the given environment, report its exit, and stop it on request: readiness is
 * the agent dialing back to the parent and passing the cookie handshake.
 */
export interface Backend {
  /** Short name for logs, e.g. `local` or `docker`. */
  readonly kind: string;
  /** The address the parent's listener binds to (e.g. `127.0.0.1`, `0.0.0.0`). */
  listenHost(): string;
  /** The host name or address runners dial to reach the parent. */
  parentHost(): string;
  /** Called once per pool before its first runner; may sweep leftovers of dead parents. */
  init?(context: BackendContext): Promise<void>;
  /** Starts one runner. Rejects (ideally with a `BootError`) if it cannot be started. */
  start(launch: RunnerLaunch): Promise<RunnerInstance>;
}
