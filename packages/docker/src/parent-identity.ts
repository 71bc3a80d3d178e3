import * as os from 'node:os';
import type { EngineClient } from './engine';
import type { ParentIdentity } from './labels';

interface ContainerInspect {
  Id: string;
  Config?: { Hostname?: string };
  State?: { Running?: boolean; StartedAt?: string };
  NetworkSettings?: { Networks?: Record<string, unknown> };
}

/**
 * Finds this process's own container on the daemon, if it runs in one: its hostname is the
 * container's hostname, which the Engine resolves as a name or id prefix. The hostname must
 * match too, so a host that happens to share a container's name is not mistaken for it.
 */
export async function findOwnContainer(
  client: EngineClient,
  hostname = os.hostname(),
): Promise<ParentIdentity['container']> {
  try {
    const info = await client.json<ContainerInspect>({
      method: 'GET',
      path: `/containers/${encodeURIComponent(hostname)}/json`,
      timeoutMs: 10_000,
    });
    const started = info.State?.StartedAt;
    if (info.Config?.Hostname !== hostname || !info.State?.Running || !started) return undefined;
    const networks = Object.keys(info.NetworkSettings?.Networks ?? {});
    return { id: info.Id, startedAt: started, networks };
  } catch {
    // Not a container on this daemon (a plain process, or another machine): labels then
    // carry the host name and pid only.
    return undefined;
  }
}

/** The identity runners of this parent are labelled with. */
export function parentIdentity(
  parentId: string,
  container: ParentIdentity['container'],
): ParentIdentity {
  return { parentId, hostname: os.hostname(), pid: process.pid, container };
}
