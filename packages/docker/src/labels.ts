/**
 * Labels on every runner container. They let a restarted parent find and remove the runners
 * of a dead one, and let a cleanup script find them all (`docker ps -a --filter
 * label=flame-node.managed=true`), without touching the runners of another live parent.
 */
export const LABEL = Object.freeze({
  /** Always `true`: the container is a flame-node runner. */
  managed: 'flame-node.managed',
  pool: 'flame-node.pool',
  /** The parent instance id (distinct for every parent process). */
  parent: 'flame-node.parent',
  runner: 'flame-node.runner',
  /** `os.hostname()` of the parent: its container's hostname when it runs in one. */
  parentHost: 'flame-node.parent-host',
  /** The parent's container id, when the parent found its own container on this daemon. */
  parentContainer: 'flame-node.parent-container',
  /** When that container started: a restarted parent container is a different parent. */
  parentStarted: 'flame-node.parent-started',
  /** The parent's pid, to judge parents that are plain processes on this host. */
  parentPid: 'flame-node.parent-pid',
});

/** Prefix of every label the backend owns; users cannot set these. */
export const RESERVED_LABEL_PREFIX = 'flame-node.';

/** The parent as runners record it. */
export interface ParentIdentity {
  readonly parentId: string;
  /** `os.hostname()`. */
  readonly hostname: string;
  readonly pid: number;
  /** Set when this process runs in a container of the same daemon. */
  readonly container?: {
    readonly id: string;
    readonly startedAt: string;
    /** Networks the container is attached to (not recorded in labels). */
    readonly networks?: readonly string[];
  };
}

/** The backend's labels for one runner. */
export function runnerLabels(
  parent: ParentIdentity,
  pool: string,
  runnerId: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.managed]: 'true',
    [LABEL.pool]: pool,
    [LABEL.parent]: parent.parentId,
    [LABEL.runner]: runnerId,
    [LABEL.parentHost]: parent.hostname,
    [LABEL.parentPid]: String(parent.pid),
  };
  if (parent.container) {
    labels[LABEL.parentContainer] = parent.container.id;
    labels[LABEL.parentStarted] = parent.container.startedAt;
  }
  return labels;
}
