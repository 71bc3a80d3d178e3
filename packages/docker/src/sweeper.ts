import type { EngineClient } from './engine';
import { engineStatus } from './errors';
import { LABEL, type ParentIdentity } from './labels';

type Logger = import('@flame-node/core').RunnerLaunch['logger'];

interface ListedContainer {
  Id: string;
  State?: string;
  Labels?: Record<string, string>;
}

interface InspectedContainer {
  State?: { Running?: boolean; StartedAt?: string };
}

/**
 * Whether the parent of some runners is still there, and why we think so. `unknown` means
 * it cannot be told from this daemon (a parent process on another host): its running
 * runners are left alone, since they stop by themselves when their parent goes, and only
 * its exited runners are removed.
 */
interface Verdict {
  readonly dead: boolean | 'unknown';
  readonly reason: string;
}

/** A removed orphan, as reported by `sweepOrphans`. */
export interface RemovedOrphan {
  readonly containerId: string;
  readonly runnerId: string | undefined;
  readonly parentId: string;
  readonly reason: string;
}

/**
 * Removes the runners of dead parents: containers labelled `flame-node.managed=true` whose
 * parent is not `self` and is gone. Runners whose parent is alive, or whose fate cannot be
 * told (the daemon did not answer), are left alone, so parents can share a daemon.
 */
export async function sweepOrphans(
  client: EngineClient,
  self: ParentIdentity,
  logger: Logger,
): Promise<RemovedOrphan[]> {
  const started = Date.now();
  logger.debug({}, 'sweeping orphan runners');

  const listed = await client.json<ListedContainer[]>({
    method: 'GET',
    path: '/containers/json',
    query: { all: true, filters: { label: [`${LABEL.managed}=true`] } },
  });

  const byParent = new Map<string, ListedContainer[]>();
  for (const container of listed ?? []) {
    const parentId = container.Labels?.[LABEL.parent];
    if (parentId === undefined || parentId === self.parentId) continue;
    byParent.set(parentId, [...(byParent.get(parentId) ?? []), container]);
  }

  const removed: RemovedOrphan[] = [];
  for (const [parentId, containers] of byParent) {
    const verdict = await judgeParent(client, containers[0].Labels ?? {}, self);
    if (verdict.dead === false) {
      const { reason } = verdict;
      logger.debug({ parentId, runners: containers.length, reason }, 'parent alive');
      continue;
    }
    const doomed =
      verdict.dead === true ? containers : containers.filter((c) => c.State !== 'running');
    for (const container of doomed) {
      const orphan: RemovedOrphan = {
        containerId: container.Id,
        runnerId: container.Labels?.[LABEL.runner],
        parentId,
        reason: verdict.reason,
      };
      if (await removeContainer(client, container.Id, logger)) {
        removed.push(orphan);
        logger.info({ ...orphan, containerId: container.Id.slice(0, 12) }, 'removed orphan runner');
      }
    }
  }

  logger.debug({ removed: removed.length, ms: Date.now() - started }, 'swept orphan runners');
  return removed;
}

/**
 * Judges a parent from the labels of one of its runners. A parent that found its own container
 * is judged by that container (gone, stopped or restarted: dead). Otherwise the container named
 * by its host name is looked up; a plain process on this very host is judged by its pid.
 */
async function judgeParent(
  client: EngineClient,
  labels: Record<string, string>,
  self: ParentIdentity,
): Promise<Verdict> {
  const containerId = labels[LABEL.parentContainer];
  if (containerId) {
    const state = await inspectState(client, containerId);
    if (state === 'unknown') return { dead: false, reason: 'cannot inspect its container' };
    const short = containerId.slice(0, 12);
    if (state === 'missing') return { dead: true, reason: `parent container ${short} is gone` };
    if (!state.Running) return { dead: true, reason: `parent container ${short} is not running` };
    const startedAt = labels[LABEL.parentStarted];
    if (startedAt && state.StartedAt && state.StartedAt !== startedAt) {
      return { dead: true, reason: `parent container ${short} has restarted` };
    }
    return { dead: false, reason: 'parent container is running' };
  }

  const host = labels[LABEL.parentHost];
  if (!host) return { dead: false, reason: 'no parent-host label' };

  const state = await inspectState(client, host);
  if (state === 'unknown') return { dead: false, reason: `cannot inspect container ${host}` };
  if (state !== 'missing') {
    return state.Running
      ? { dead: false, reason: `parent container ${host} is running` }
      : { dead: true, reason: `parent container ${host} is not running` };
  }

  // The parent was not a container of this daemon. If it ran on this host, its pid tells.
  const pid = Number(labels[LABEL.parentPid]);
  if (host === self.hostname && Number.isInteger(pid) && pid > 0) {
    if (pid === self.pid) {
      return { dead: true, reason: `parent process ${pid} is gone (its pid is ours now)` };
    }
    return processAlive(pid)
      ? { dead: false, reason: `parent process ${pid} is running on this host` }
      : { dead: true, reason: `parent process ${pid} is gone` };
  }
  return { dead: 'unknown', reason: `no container named ${host} on this daemon` };
}

async function inspectState(
  client: EngineClient,
  nameOrId: string,
): Promise<NonNullable<InspectedContainer['State']> | 'missing' | 'unknown'> {
  try {
    const info = await client.json<InspectedContainer>({
      method: 'GET',
      path: `/containers/${encodeURIComponent(nameOrId)}/json`,
    });
    return info?.State ?? {};
  } catch (error) {
    return engineStatus(error) === 404 ? 'missing' : 'unknown';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Force-removes a container with its anonymous volumes. Already gone (404) or already being
 * removed (409) count as done. Returns whether the container is gone.
 */
export async function removeContainer(
  client: EngineClient,
  nameOrId: string,
  logger: Logger,
): Promise<boolean> {
  try {
    await client.json({
      method: 'DELETE',
      path: `/containers/${encodeURIComponent(nameOrId)}`,
      query: { force: true, v: true },
    });
    return true;
  } catch (error) {
    const status = engineStatus(error);
    if (status === 404 || status === 409) return true;
    logger.warn({ err: error, container: nameOrId.slice(0, 12) }, 'could not remove container');
    return false;
  }
}
